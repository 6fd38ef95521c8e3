import Foundation
import Hummingbird
import ModelRuntime
import OpenInference
import NIOCore
import Synchronization

/// Request bodies: read whole within a size limit and a deadline, and JSON parsed only after
/// its nesting and its number of values have been bounded.
///
/// ```swift
/// try await BodyReader.collect(&request, limits: limits, budget: budget, reservation: held)   // AdmissionMiddleware does this
/// let score = try BodyReader.decode(ScoreRequest.self, from: try await BodyReader.bytes(request, limit: limits.maxBodyBytes), limits: limits)
/// ```
enum BodyReader {
    /// JSON parses that cost more than this many values (``checkCost``'s units; about 1 MB of
    /// small allocations) are followed by handing free memory back to the system
    /// (``Predictor/offload(releasingMemory:_:)``, ``JSONCost``). Not the body's size: a body of a
    /// few base64 images parses into a few strings, and not trimming after each of those
    /// measured +4% on `/score` (335 → 348 req/s, 3 rounds each: within this machine's noise,
    /// but never a loss).
    static let trimAboveValues = 10_000

    /// Reads the whole body into `request` (so handlers get it from memory): 413 when it is larger
    /// than `maxBodyBytes`, 408 when it has not all arrived `bodyTimeoutSeconds` after the headers
    /// (the idle timeout alone would let a client trickle one byte a minute forever), 503 when
    /// the bytes it has sent do not fit `budget`. The budget is charged with the bytes that have
    /// arrived, not with what `Content-Length` claims: connections that claim 16 MiB and send
    /// nothing hold nothing. `reservation` counts what was charged, for the caller to give back.
    static func collect(_ request: inout Request, limits: BodyLimits, budget: ByteBudget, reservation: ByteBudget.Reservation) async throws {
        let limit = limits.maxBodyBytes
        if let length = declaredLength(request), length > limit { throw tooLarge(length, limit) }
        let body = request.body
        let buffer: ByteBuffer? = try await withThrowingTaskGroup(of: ByteBuffer?.self) { group in
            group.addTask {
                var buffer = ByteBuffer()
                do {
                    for try await chunk in body {
                        guard buffer.readableBytes + chunk.readableBytes <= limit else { throw tooLarge(nil, limit) }
                        guard reservation.take(chunk.readableBytes, from: budget) else { throw AdmissionError.bodiesFull }
                        buffer.writeImmutableBuffer(chunk)
                    }
                    return buffer
                } catch let e as APIError {
                    throw e
                } catch AdmissionError.bodiesFull {
                    throw AdmissionError.bodiesFull
                } catch {
                    if error is CancellationError || Task.isCancelled { return nil }
                    throw APIError(.badRequest, "the request body ended before it was complete", headers: [.connection: "close"])
                }
            }
            group.addTask {
                await Deadline.wait(seconds: limits.bodyTimeoutSeconds)
                return nil
            }
            let first = try await group.next() ?? nil
            group.cancelAll()
            return first
        }
        guard let buffer else {
            throw APIError(
                .requestTimeout,
                "the request body did not arrive within \(limits.bodyTimeoutSeconds) seconds",
                headers: [.connection: "close"]
            )
        }
        request.body = .init(buffer: buffer)
    }

    /// The body's bytes (from memory once ``collect(_:limits:budget:reservation:)`` has run).
    static func bytes(_ request: Request, limit: Int) async throws -> [UInt8] {
        if let length = declaredLength(request), length > limit { throw tooLarge(length, limit) }
        do {
            var buffer = try await request.body.collect(upTo: limit)
            return buffer.readBytes(length: buffer.readableBytes) ?? []
        } catch is NIOTooManyBytesError {
            throw tooLarge(nil, limit)
        }
    }

    static func declaredLength(_ request: Request) -> Int? { request.headers[.contentLength].flatMap { Int($0) } }

    static func tooLarge(_ length: Int?, _ limit: Int) -> APIError {
        APIError(
            .contentTooLarge,
            length.map { "the request body is \($0) bytes, more than the limit of \(limit)" }
                ?? "the request body is larger than the limit of \(limit) bytes"
        )
    }

    /// Decodes JSON after one pass over the bytes has checked that arrays and objects nest at most
    /// `maxJSONDepth` deep (400) and that the parse will cost at most `maxJSONValues` values
    /// (413). An array counts as 6 values, an object as 40 and each `key:` as 3 more, the
    /// relative costs measured for Foundation's JSONSerialization (~75 bytes per number, ~430
    /// per array, ~3,000 per object, ~200 per member); JSONDecoder, used now, holds less per value,
    /// so the bound holds from above. A decoding error becomes a 400 that names the field.
    /// (Not Hummingbird's `request.decode(as:context:)`: the scan must come first, and the
    /// routes run both on the decode pool, off the event loops.)
    static func decode<T: Decodable>(_ type: T.Type, from bytes: some Collection<UInt8>, limits: BodyLimits, cost: JSONCost? = nil) throws -> T {
        cost?.add(try checkCost(bytes, limits: limits))
        let data = Data(bytes)
        do {
            return try JSONDecoder().decode(T.self, from: data)
        } catch DecodingError.dataCorrupted(let context) where context.codingPath.isEmpty {
            throw PredictionError.invalid(syntaxError(data))
        } catch let error as DecodingError {
            throw PredictionError.invalid(describe(error))
        }
    }

    /// Foundation's JSONDecoder on Linux says only "not valid JSON", both for a syntax error and
    /// for a number that does not fit its field (`2.5` or `1e30` where a whole number goes).
    /// JSONSerialization (already bounded by the same scan) tells them apart and says where.
    static func syntaxError(_ data: Data) -> String {
        guard data.count <= 1 << 20 else { return "malformed JSON, or a number that does not fit its field" }
        do {
            _ = try JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed])
            return "a number does not fit its field (a whole number within 64 bits where one is expected)"
        } catch {
            return "malformed JSON: \((error as NSError).userInfo[NSDebugDescriptionErrorKey] as? String ?? "\(error)")"
        }
    }

    /// The parse's cost in values (see ``decode(_:from:limits:cost:)``), or an error past the bounds.
    @discardableResult
    static func checkCost(_ bytes: some Collection<UInt8>, limits: BodyLimits) throws -> Int {
        var depth = 0
        var cost = 1
        var inString = false
        var escaped = false
        for b in bytes {
            if inString {
                if escaped { escaped = false } else if b == UInt8(ascii: "\\") { escaped = true } else if b == UInt8(ascii: "\"") { inString = false }
                continue
            }
            switch b {
            case UInt8(ascii: "\""): inString = true
            case UInt8(ascii: "["), UInt8(ascii: "{"):
                depth += 1
                cost += b == UInt8(ascii: "{") ? 40 : 6
                if depth > limits.maxJSONDepth { throw PredictionError.invalid("JSON nests deeper than \(limits.maxJSONDepth) levels") }
            case UInt8(ascii: "]"), UInt8(ascii: "}"): depth -= 1
            case UInt8(ascii: ","): cost += 1
            case UInt8(ascii: ":"): cost += 3
            default: continue
            }
            if cost > limits.maxJSONValues {
                throw PredictionError.tooLarge(
                    "the JSON body holds more than \(limits.maxJSONValues) values (MAX_JSON_VALUES; an array counts 6, an object 40, a key 3); send large tensors with the binary tensor extension"
                )
            }
        }
        return cost
    }

    /// A decoding error in the client's terms: which field, and what was wrong with it.
    static func describe(_ error: DecodingError) -> String {
        func path(_ keys: [CodingKey]) -> String {
            keys.reduce("") { p, key in key.intValue.map { "\(p)[\($0)]" } ?? (p.isEmpty ? key.stringValue : "\(p).\(key.stringValue)") }
        }
        switch error {
        case .keyNotFound(let key, let context):
            let parent = path(context.codingPath)
            return "missing field \"\(key.stringValue)\"" + (parent.isEmpty ? "" : " in \(parent)")
        case .typeMismatch(let type, let context):
            return "\(path(context.codingPath).isEmpty ? "the body" : path(context.codingPath)) must be \(describe(type))"
        case .valueNotFound(let type, let context):
            return "\(path(context.codingPath)) must be \(describe(type)), not null"
        case .dataCorrupted(let context):
            return "\(path(context.codingPath)) \(context.debugDescription)"
        @unknown default:
            return "\(error)"
        }
    }

    private static func describe(_ type: Any.Type) -> String {
        switch type {
        case is String.Type: "a string"
        case is Int.Type: "a whole number"
        case is Bool.Type: "true or false"
        case is Double.Type, is Float.Type: "a number"
        default: String(describing: type).hasPrefix("Array") ? "a list" : "an object"
        }
    }

    static func requireJSON(_ request: Request) throws {
        let type = request.headers[.contentType]?.lowercased() ?? ""
        guard type.hasPrefix("application/json") else {
            throw APIError(.unsupportedMediaType, "Content-Type must be application/json, got '\(type.isEmpty ? "none" : clipped(type))'")
        }
    }
}

/// What one request's JSON parses cost, summed (in ``BodyReader/checkCost(_:limits:)``'s units),
/// so that the route hands the parse's memory back only when there was much of it.
///
/// ```swift
/// let cost = JSONCost()
/// let request = try await predictor.offload(releasingMemory: cost.isLarge) {
///     try BodyReader.decode(V2InferRequest.self, from: body, limits: limits, cost: cost)
/// }
/// ```
final class JSONCost: Sendable {
    private let values = Atomic<Int>(0)

    func add(_ count: Int) { values.add(count, ordering: .relaxed) }

    /// More than ``BodyReader/trimAboveValues``: many small allocations, worth giving back.
    var isLarge: Bool { values.load(ordering: .relaxed) > BodyReader.trimAboveValues }
}
