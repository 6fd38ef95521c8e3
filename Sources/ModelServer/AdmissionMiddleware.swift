import Hummingbird
import Synchronization

/// Sheds load at the door: when `limit` prediction requests are already being read, decoded,
/// queued or run, the next one gets 503 with `Retry-After` at once, before its body is read or
/// its images decoded. Without it, an overloaded server spends its CPU decoding images for
/// requests the batcher's bounded queue then refuses anyway.
struct AdmissionMiddleware<Context: RequestContext>: RouterMiddleware {
    let limit: Int
    private let counter = Counter()

    final class Counter: Sendable {
        let value = Atomic<Int>(0)
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        // Every POST in the API is a prediction; probes and metadata are never shed.
        guard request.method == .post else { return try await next(request, context) }
        let before = counter.value.add(1, ordering: .relaxed).oldValue
        defer { counter.value.subtract(1, ordering: .relaxed) }
        guard before < limit else {
            throw APIError(.serviceUnavailable, "the server is at capacity (\(limit) requests in progress); retry shortly", headers: [.retryAfter: "1"])
        }
        return try await next(request, context)
    }
}
