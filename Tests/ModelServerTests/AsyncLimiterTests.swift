import Synchronization
import Testing

@testable import ModelServer

@Suite("AsyncLimiter")
struct AsyncLimiterTests {
    final class Log: Sendable {
        let entries = Mutex<[Int]>([])
        func add(_ n: Int) { entries.withLock { $0.append(n) } }
        var all: [Int] { entries.withLock { $0 } }
    }

    /// Polls until `condition` holds (the waiters are other tasks); fails after about 5 s.
    func eventually(_ condition: () -> Bool) async throws {
        for _ in 0..<500 where !condition() { try await Task.sleep(for: .milliseconds(10)) }
        #expect(condition())
    }

    @Test("no more than `permits` holders; waiters get in in arrival order")
    func boundAndOrder() async throws {
        let limiter = AsyncLimiter(permits: 2)
        try await limiter.acquire()
        try await limiter.acquire()
        let log = Log()
        let started = Log()
        var tasks: [Task<Void, Error>] = []
        for n in 1...3 {
            // Started one after another, so that they queue in this order.
            tasks.append(
                Task {
                    started.add(n)
                    try await limiter.acquire()
                    log.add(n)
                }
            )
            try await eventually { started.all.count == n }
            try await Task.sleep(for: .milliseconds(20))  // it is parked in acquire() by now
        }
        try await Task.sleep(for: .milliseconds(50))
        #expect(log.all.isEmpty, "a third holder got in while two permits were taken")
        limiter.release()
        try await eventually { log.all == [1] }
        limiter.release()
        limiter.release()
        try await eventually { log.all == [1, 2, 3] }
        for t in tasks { try await t.value }
    }

    @Test("a cancelled waiter leaves the queue and its turn goes to the next")
    func cancellation() async throws {
        let limiter = AsyncLimiter(permits: 1)
        try await limiter.acquire()
        let first = Task { try await limiter.acquire() }
        try await Task.sleep(for: .milliseconds(50))
        let log = Log()
        let second = Task {
            try await limiter.acquire()
            log.add(2)
        }
        try await Task.sleep(for: .milliseconds(50))
        first.cancel()
        await #expect(throws: CancellationError.self) { try await first.value }
        limiter.release()
        try await second.value
        #expect(log.all == [2])
    }

    @Test("a released permit is reused when nobody waits")
    func reuse() async throws {
        let limiter = AsyncLimiter(permits: 1)
        for _ in 0..<1000 {
            try await limiter.acquire()
            limiter.release()
        }
        try await limiter.acquire()  // would hang if a permit had leaked
    }
}
