import Foundation
import HTTPTypes
import Hummingbird
import ImagePipeline
import ModelEngine
import ModelRuntime

/// An error answered as `{"error": "..."}` with a status, as the Open Inference Protocol specifies.
///
/// ```swift
/// throw APIError(.unsupportedMediaType, "Content-Type must be application/json")   // 415 {"error": ...}
/// ```
public struct APIError: HTTPResponseError {
    public var status: HTTPResponse.Status
    public var message: String
    public var headers: HTTPFields = [:]

    public init(_ status: HTTPResponse.Status, _ message: String, headers: HTTPFields = [:]) {
        self.status = status
        self.message = message
        self.headers = headers
    }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        Self.json(status: status, message: message, headers: headers)
    }

    static func json(status: HTTPResponse.Status, message: String, headers: HTTPFields = [:]) -> Response {
        let body = (try? HTTPContext.encoder.encode(["error": message])) ?? Data("{\"error\":\"error\"}".utf8)
        var fields = headers
        fields[.contentType] = "application/json"
        return Response(status: status, headers: fields, body: .init(byteBuffer: ByteBuffer(bytes: body)))
    }

    static func badRequest(_ message: String) -> APIError { APIError(.badRequest, message) }

    /// Maps the runtime's, pipeline's, engine's and batcher's errors to HTTP: the one place
    /// where a domain error becomes a status.
    static func from(_ error: Error) -> APIError {
        switch error {
        case let e as APIError: return e
        case let e as ImageError: return APIError(e.exceedsLimit ? .contentTooLarge : .badRequest, e.description)
        case PredictionError.invalid(let why): return APIError(.badRequest, why)
        case PredictionError.tooLarge(let why): return APIError(.contentTooLarge, why)
        case PredictionError.unknownModel(let why): return APIError(.notFound, why)
        case PredictionError.notReady(let why): return APIError(.serviceUnavailable, why, headers: [.retryAfter: "1"])
        case ModelError.invalidInput(let why): return APIError(.badRequest, why)
        case AdmissionError.atCapacity(let limit):
            return APIError(.serviceUnavailable, "the server is at capacity (\(limit) requests in progress); retry shortly", headers: [.retryAfter: "1"])
        case AdmissionError.bodiesFull:
            return APIError(
                .serviceUnavailable,
                "the server is holding too many request bodies; retry shortly",
                headers: [.retryAfter: "1", .connection: "close"]
            )
        case Batcher.BatcherError.queueFull:
            return APIError(.serviceUnavailable, "the server is at capacity; retry shortly", headers: [.retryAfter: "1"])
        case Batcher.BatcherError.timedOut:
            return APIError(.serviceUnavailable, "the request waited too long in the queue", headers: [.retryAfter: "1"])
        case Batcher.BatcherError.stopped: return APIError(.serviceUnavailable, "the server is shutting down")
        default: return APIError(.internalServerError, "internal error: \(error)")
        }
    }
}

/// The routes' paths and methods, filled in once the router is built (for 405 answers).
final class RouteTable: @unchecked Sendable {
    private var routes: [(method: String, segments: [Substring])] = []

    func load(_ descriptions: [(method: String, path: String)]) {
        routes = descriptions.map { ($0.method, $0.path.split(separator: "/")) }
    }

    /// Methods of the routes that `path` matches most specifically, as the router's trie does:
    /// a literal segment beats `{model}:predict` (a parameter with a suffix), which beats `{model}`.
    func methods(for path: String) -> [String] {
        let parts = path.split(separator: "/")
        var best = Int.min
        var methods: [String] = []
        for r in routes where r.segments.count == parts.count {
            var score = 0
            for (pattern, part) in zip(r.segments, parts) {
                if pattern == part {
                    score += 2
                } else if pattern.hasPrefix("{"), let close = pattern.firstIndex(of: "}") {
                    let suffix = pattern[pattern.index(after: close)...]
                    if suffix.isEmpty { continue }
                    guard part.hasSuffix(suffix) else {
                        score = Int.min
                        break
                    }
                    score += 1
                } else {
                    score = Int.min
                    break
                }
            }
            guard score != Int.min, score >= best else { continue }
            if score > best { (best, methods) = (score, []) }
            methods.append(r.method)
        }
        return Array(Set(methods)).sorted()
    }
}

/// Turns every error, including unmatched routes and oversized bodies, into a JSON error response.
struct JSONErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    let routes: RouteTable

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let e as APIError {
            return APIError.json(status: e.status, message: e.message, headers: e.headers)
        } catch let e as HTTPError where e.status == .notFound && !routes.methods(for: request.uri.path).isEmpty {
            let allowed = routes.methods(for: request.uri.path)
            return APIError.json(
                status: .methodNotAllowed,
                message: "\(request.method) is not allowed on \(request.uri.path); use \(allowed.joined(separator: ", "))",
                headers: [.allow: allowed.joined(separator: ", ")]
            )
        } catch let e as HTTPError {
            let message = e.body ?? (e.status == .notFound ? "no route for \(request.method) \(request.uri.path)" : e.status.reasonPhrase)
            return APIError.json(status: e.status, message: message)
        } catch {
            let e = APIError.from(error)
            if e.status == .internalServerError { context.logger.error("request failed", metadata: ["error": "\(error)"]) }
            return APIError.json(status: e.status, message: e.message, headers: e.headers)
        }
    }
}
