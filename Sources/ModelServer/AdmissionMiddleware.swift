import Hummingbird
import Synchronization

/// Sheds load at the door: when `limit` prediction requests are already in progress, the next
/// one gets 503 with `Retry-After` at once, before its body is read or its images decoded.
/// Without it, an overloaded server spends its CPU decoding images for requests the batcher's
/// bounded queue then refuses anyway.
///
/// Of the admitted requests, only `active` at a time read their bodies, decode and queue for the
/// model; the rest wait their turn holding nothing but their connection. Enough are active to
/// keep the model busy (a batch running, the next one gathering, images decoding), and memory no
/// longer grows with the number of connections: each active request holds a decoded input
/// tensor (600 KB for a 224×224 model), which 64 queued requests multiplied to 40 MB.
struct AdmissionMiddleware<Context: RequestContext>: RouterMiddleware {
    let limit: Int
    private let counter = Counter()
    private let active: AsyncLimiter

    init(limit: Int, active: Int) {
        self.limit = limit
        self.active = AsyncLimiter(permits: active)
    }

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
        try await active.acquire()
        defer { active.release() }
        return try await next(request, context)
    }
}
