import Hummingbird
import Synchronization
import ModelRuntime

/// Admits prediction requests in three steps, each bounding something a client could otherwise
/// take without limit:
///
/// 1. **Capacity.** When `maxConcurrentRequests` predictions are already in progress, the next
///    one gets 503 with `Retry-After` at once, before its body is read. Without it, an
///    overloaded server spends its CPU decoding images for requests the batcher's bounded queue
///    then refuses anyway.
/// 2. **The body**, read whole before anything else (``RequestBody/collect(_:limits:)``): within
///    `maxBodyBytes` and `bodyTimeoutSeconds`, and within a byte budget shared by all requests
///    (`maxBufferedBytes`, reserved from `Content-Length`, or the largest body when the length is
///    unknown; 503 when exhausted) so that bodies held by many connections at once stay bounded.
///    A slow upload holds no active slot, so twelve of them no longer stall every prediction.
/// 3. **An active slot.** Only `active` requests decode and queue for the model at once; the
///    rest wait their turn in arrival order holding their body but no decoded tensor (600 KB
///    each for a 224×224 model). Enough are active to keep the model busy.
///
/// It is attached to the prediction routes' group, so it runs only for a matched route (and
/// after authentication: an unauthenticated client cannot make the server buffer its body).
struct AdmissionMiddleware<Context: RequestContext>: RouterMiddleware {
    let limit: Int
    let limits: RequestLimits
    private let counter = Counter()
    private let budget: ByteBudget
    private let active: AsyncLimiter

    init(limit: Int, active: Int, limits: RequestLimits, maxBufferedBytes: Int) {
        self.limit = limit
        self.limits = limits
        self.active = AsyncLimiter(permits: active)
        self.budget = ByteBudget(maxBufferedBytes)
    }

    final class Counter: Sendable {
        let value = Atomic<Int>(0)
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let before = counter.value.add(1, ordering: .relaxed).oldValue
        defer { counter.value.subtract(1, ordering: .relaxed) }
        guard before < limit else {
            throw APIError(.serviceUnavailable, "the server is at capacity (\(limit) requests in progress); retry shortly", headers: [.retryAfter: "1"])
        }
        let reserved = min(RequestBody.declaredLength(request) ?? limits.maxBodyBytes, limits.maxBodyBytes)
        guard budget.reserve(reserved) else {
            throw APIError(.serviceUnavailable, "the server is holding too many request bodies; retry shortly", headers: [.retryAfter: "1"])
        }
        defer { budget.release(reserved) }
        var request = request
        try await RequestBody.collect(&request, limits: limits)
        try await active.acquire()
        defer { active.release() }
        return try await next(request, context)
    }
}

/// A count of bytes that holders reserve and give back; a reservation that does not fit fails
/// at once rather than wait.
final class ByteBudget: Sendable {
    private let available: Atomic<Int>

    init(_ bytes: Int) { available = Atomic(bytes) }

    func reserve(_ bytes: Int) -> Bool {
        var current = available.load(ordering: .relaxed)
        while current >= bytes {
            let (exchanged, original) = available.compareExchange(expected: current, desired: current - bytes, ordering: .relaxed)
            if exchanged { return true }
            current = original
        }
        return false
    }

    func release(_ bytes: Int) { available.add(bytes, ordering: .relaxed) }
}
