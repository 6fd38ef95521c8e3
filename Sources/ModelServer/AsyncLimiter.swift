import Synchronization

/// At most `permits` holders at once; the others wait in arrival order, without blocking a thread.
///
/// ```swift
/// let limiter = AsyncLimiter(permits: 12)
/// try await limiter.acquire()          // throws CancellationError if the task is cancelled while waiting
/// defer { limiter.release() }
/// ```
final class AsyncLimiter: Sendable {
    private struct State {
        var free: Int
        var waiters: [(id: UInt64, continuation: CheckedContinuation<Void, Error>)] = []
        var lastID: UInt64 = 0
    }

    private let state: Mutex<State>

    init(permits: Int) { state = Mutex(State(free: permits)) }

    func acquire() async throws {
        let id: UInt64? = state.withLock { s in
            if s.free > 0 {
                s.free -= 1
                return nil
            }
            s.lastID += 1
            return s.lastID
        }
        guard let id else { return }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, Error>) in
                // A permit may have come back since the check above: take it rather than wait for the next.
                let now: Result<Void, Error>? = state.withLock { s in
                    if s.free > 0 {
                        s.free -= 1
                        return .success(())
                    }
                    if Task.isCancelled { return .failure(CancellationError()) }
                    s.waiters.append((id, continuation))
                    return nil
                }
                if let now { continuation.resume(with: now) }
            }
        } onCancel: {
            let waiter = state.withLock { s in s.waiters.firstIndex { $0.id == id }.map { s.waiters.remove(at: $0).continuation } }
            waiter?.resume(throwing: CancellationError())
        }
    }

    /// Hands the permit to the longest waiter, or returns it.
    func release() {
        let next = state.withLock { s -> CheckedContinuation<Void, Error>? in
            if s.waiters.isEmpty {
                s.free += 1
                return nil
            }
            return s.waiters.removeFirst().continuation
        }
        next?.resume()
    }
}
