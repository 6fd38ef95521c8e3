import Hummingbird
import ModelRuntime
import Synchronization

/// Admits prediction requests in three steps, each bounding something a client could otherwise
/// take without limit:
///
/// 1. **The body**, read whole first (``BodyReader/collect(_:limits:budget:reservation:)``):
///    within `maxBodyBytes` and `bodyTimeoutSeconds`, and within a byte budget shared by all
///    requests (`maxBufferedBytes`; 503 when exhausted), charged with the bytes that have actually
///    arrived — a connection that claims a 16 MiB body and sends nothing holds nothing, so a few
///    idle connections cannot lock everyone out. A slow upload holds no slot of steps 2 and 3.
/// 2. **Capacity.** When `maxConcurrentRequests` predictions with their bodies are already in
///    progress, the next gets 503 with `Retry-After` at once, before its images are decoded.
///    Without it, an overloaded server spends its CPU decoding images for requests the batcher's
///    bounded queue then refuses anyway.
/// 3. **An active slot.** Only `active` requests decode and queue for the model at once; the
///    rest wait their turn in arrival order holding their body but no decoded tensor (600 KB
///    each for a 224×224 model). Enough are active to keep the model busy.
///
/// It is attached to the prediction routes' group, so it runs only for a matched route (and
/// after authentication: an unauthenticated client cannot make the server buffer its body).
struct AdmissionMiddleware<Context: RequestContext>: RouterMiddleware {
    let admission: Admission
    let limits: BodyLimits

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let held = ByteBudget.Reservation()
        defer { held.release(to: admission.budget) }
        var request = request
        try await BodyReader.collect(&request, limits: limits, budget: admission.budget, reservation: held)
        return try await admission.run { try await next(request, context) }
    }
}

/// Steps 2 and 3 of admission, and the body budget of step 1, shared by every transport: the
/// HTTP routes and the gRPC service draw on the same capacity, active slots and bytes.
///
/// ```swift
/// let admission = Admission(limit: 64, active: 12, maxBufferedBytes: 64 << 20)
/// let answer = try await admission.run { try await predictor.classify(images: images, topK: 5) }   // AdmissionError.atCapacity when full
/// ```
public final class Admission: Sendable {
    public let limit: Int
    /// Request bytes held at once, over all requests and transports (`MAX_BUFFERED_BODY_BYTES`).
    public let budget: ByteBudget
    private let inProgress = Atomic<Int>(0)
    private let active: AsyncLimiter

    public init(limit: Int, active: Int, maxBufferedBytes: Int) {
        self.limit = limit
        self.active = AsyncLimiter(permits: active)
        self.budget = ByteBudget(maxBufferedBytes)
    }

    /// Runs `work` once it holds an active slot; ``AdmissionError/atCapacity(_:)`` at once when
    /// `limit` requests are already in progress.
    public func run<T>(_ work: () async throws -> T) async throws -> T {
        let before = inProgress.add(1, ordering: .relaxed).oldValue
        defer { inProgress.subtract(1, ordering: .relaxed) }
        guard before < limit else { throw AdmissionError.atCapacity(limit) }
        try await active.acquire()
        defer { active.release() }
        return try await work()
    }
}

/// Why a request was not admitted; each transport answers it as "retry shortly" (HTTP 503 with
/// `Retry-After`, gRPC UNAVAILABLE with `retry-after-ms`).
///
/// ```swift
/// do { try await admission.run { ... } } catch AdmissionError.atCapacity(let limit) { ... }
/// ```
public enum AdmissionError: Error, Equatable {
    /// `limit` prediction requests are in progress; the client should retry shortly.
    case atCapacity(Int)
    /// The request bytes held over all requests (`MAX_BUFFERED_BODY_BYTES`) leave no room for
    /// this one's; the client should retry shortly.
    case bodiesFull
}

/// A count of bytes that holders take and give back; a take that does not fit fails at once
/// rather than wait.
///
/// ```swift
/// let held = ByteBudget.Reservation()
/// defer { held.release(to: budget) }                      // everything taken goes back
/// guard held.take(chunk.readableBytes, from: budget) else { throw AdmissionError.bodiesFull }
/// ```
public final class ByteBudget: Sendable {
    private let available: Atomic<Int>

    public init(_ bytes: Int) { available = Atomic(bytes) }

    /// Takes `bytes` if that many are left; false (and nothing taken) otherwise.
    public func reserve(_ bytes: Int) -> Bool {
        var current = available.load(ordering: .relaxed)
        while current >= bytes {
            let (exchanged, original) = available.compareExchange(expected: current, desired: current - bytes, ordering: .relaxed)
            if exchanged { return true }
            current = original
        }
        return false
    }

    /// Gives back `bytes` taken with ``reserve(_:)``.
    public func release(_ bytes: Int) { available.add(bytes, ordering: .relaxed) }

    /// What one request has taken, so that all of it goes back however the request ends.
    public final class Reservation: Sendable {
        private let bytes = Atomic<Int>(0)

        public init() {}

        public func take(_ count: Int, from budget: ByteBudget) -> Bool {
            guard budget.reserve(count) else { return false }
            bytes.add(count, ordering: .relaxed)
            return true
        }

        public func release(to budget: ByteBudget) { budget.release(bytes.exchange(0, ordering: .relaxed)) }
    }
}
