import Foundation
import Testing

@testable import ModelServer

@Suite("Deadline")
struct DeadlineTests {
    @Test("waits as long as asked")
    func waits() async {
        let start = ContinuousClock.now
        await Deadline.wait(seconds: 0.05)
        #expect(ContinuousClock.now - start >= .milliseconds(50))
    }

    /// What every request's body deadline does when the body arrives in time, 100,000 times: with
    /// `Task.sleep` this held 84 MB until the hour was up. (A wait that ignored cancellation would
    /// last the hour: the time limit fails it.)
    @Test("a cancelled wait returns at once and holds no memory", .timeLimit(.minutes(1)))
    func cancelled() async throws {
        func cancelWaits(_ rounds: Int) async {
            for _ in 0..<rounds {
                await withTaskGroup(of: Void.self) { group in
                    for _ in 0..<100 { group.addTask { await Deadline.wait(seconds: 3600) } }
                    // Cancelled once waiting, as a body deadline is when the body arrives.
                    try? await Task.sleep(for: .milliseconds(2))
                    group.cancelAll()
                }
            }
        }
        await cancelWaits(100)  // warm-up: the allocator's and the event loops' own first growth
        let before = residentBytes()
        try #require(before > 0, "the resident size comes from /proc/self/status (Linux)")
        let start = ContinuousClock.now
        await cancelWaits(1000)
        #expect(ContinuousClock.now - start < .seconds(60))
        let grown = residentBytes() - before
        #expect(grown < 16 << 20, "100,000 cancelled waits still hold \(grown >> 20) MB")
    }

    private func residentBytes() -> Int {
        let status = (try? String(contentsOfFile: "/proc/self/status", encoding: .utf8)) ?? ""
        let line = status.split(separator: "\n").first { $0.hasPrefix("VmRSS:") } ?? ""
        return (Int(line.split(separator: " ").dropFirst().first ?? "") ?? 0) * 1024
    }
}
