import Foundation
import Synchronization
import Testing

@testable import ModelServer

@Suite("Drain")
struct DrainTests {
    @Test("probes are not traffic: a load balancer keeps probing a replica it no longer sends to")
    func probes() {
        for probe in ["/", "/v2/health/ready", "/v2/health/live", "//v2/health/ready/", "/v2/models/m/ready", "/metrics", "/version?x=1"] {
            #expect(Drain.isProbe(probe), "\(probe)")
        }
        for traffic in ["/score", "/v1/models/m:classify", "/v2/models/m/infer", "/v2/models/m", "/v2"] {
            #expect(!Drain.isProbe(traffic), "\(traffic)")
        }
    }

    @Test("the drain ends once requests stop arriving for the quiet period, not while they keep coming")
    func quiet() async {
        let drain = Drain()
        drain.begin()
        let arrivals = Mutex<[ContinuousClock.Instant]>([])
        let traffic = Task {
            // Requests every 100 ms for 0.6 s, probes after that.
            for i in 0..<12 {
                drain.requestArrived(path: i < 6 ? "/score" : "/v2/health/ready")
                if i < 6 { arrivals.withLock { $0.append(.now) } }
                try? await Task.sleep(for: .milliseconds(100))
            }
        }
        // A timeout far beyond the test: only the quiet period can end this wait.
        await drain.waitUntilQuiet(quiet: 0.3, minimum: 0, timeout: 600)
        let end = ContinuousClock.now
        await traffic.value
        // Judged against when the requests really came, not when they were meant to: the full
        // parallel suite can starve the traffic task, and a starved gap of 0.3 s is quiet too.
        // A drain that ended while requests kept coming ends less than 0.3 s after the last one.
        let seen = arrivals.withLock { $0 }.filter { $0 <= end }
        #expect(!seen.isEmpty)
        if let last = seen.max() {
            #expect(end - last >= .milliseconds(290), "the drain ended \(end - last) after the last request; the quiet period is 0.3 s")
        }
    }

    @Test("the timeout bounds the drain when requests never stop")
    func timeout() async {
        let drain = Drain()
        drain.begin()
        let stopped = Flag()
        let endless = Task {
            // Requests every 50 ms for at least 60 s (the sleeps only get longer under load).
            for _ in 0..<1200 where !Task.isCancelled {
                drain.requestArrived(path: "/score")
                try? await Task.sleep(for: .milliseconds(50))
            }
            stopped.set()
        }
        await drain.waitUntilQuiet(quiet: 0.3, minimum: 0, timeout: 1)
        let trafficEnded = stopped.isSet
        #expect(!trafficEnded, "the wait ended while requests were still arriving: by its timeout")
        endless.cancel()
        await endless.value
    }
}

/// A flag one task sets and another reads.
private final class Flag: Sendable {
    private let value = Atomic<Bool>(false)
    func set() { value.store(true, ordering: .relaxed) }
    var isSet: Bool { value.load(ordering: .relaxed) }
}
