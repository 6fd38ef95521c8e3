import Foundation
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
        let start = ContinuousClock.now
        let traffic = Task {
            // Requests every 100 ms for 0.6 s, probes after that.
            for i in 0..<12 {
                drain.requestArrived(path: i < 6 ? "/score" : "/v2/health/ready")
                try? await Task.sleep(for: .milliseconds(100))
            }
        }
        await drain.waitUntilQuiet(quiet: 0.3, minimum: 0, timeout: 5)
        let waited = ContinuousClock.now - start
        await traffic.value
        // Not before ~0.5 s of requests and 0.3 s of quiet; the upper bound only catches a drain
        // that never noticed the quiet (test machines are loaded, so it is loose).
        #expect(waited >= .milliseconds(750) && waited < .seconds(5), "waited \(waited): ~0.5 s of requests, then 0.3 s quiet")
        let bounded = ContinuousClock.now
        let endless = Task {
            for _ in 0..<160 where !Task.isCancelled {
                drain.requestArrived(path: "/score")
                try? await Task.sleep(for: .milliseconds(50))
            }
        }
        await drain.waitUntilQuiet(quiet: 0.3, minimum: 0, timeout: 1)
        // Requests keep coming for 8 s: only the 1 s timeout can have ended the wait this early.
        #expect(ContinuousClock.now - bounded < .seconds(5), "the timeout bounds the drain when traffic never stops")
        endless.cancel()
    }
}
