import Foundation
import TestSupport
import Testing

@testable import ModelServer

/// schemathesis (PyPI) fuzzes every operation of `/openapi.json` against a live server: no 5xx,
/// every status, header and body as documented. One check is off: `positive_data_acceptance`
/// expects any schema-valid request to succeed, but a schema cannot say "these base64 bytes are
/// a decodable JPEG", so random valid-looking images are (rightly) refused with 400.
@Suite("schemathesis against /openapi.json")
struct SchemathesisTests {
    @Test func generatedRequests() async throws {
        try #require(Paths.demoArtifactExists, "run `make model`")
        let schemathesis = Paths.repoRoot.appendingPathComponent(".venv/bin/schemathesis")
        try #require(FileManager.default.fileExists(atPath: schemathesis.path), "schemathesis is missing: run `make setup`")
        try await withTestServer(modelDirectory: Paths.demoModel) { base, _ in
            try await waitUntilReady(base)
            // The document as the server serves it, from a file: under the full parallel test suite
            // both cores are busy and loading it over HTTP could hit schemathesis' 10 s limit.
            let served = try await http("GET", base.appendingPathComponent("openapi.json"))
            let spec = FileManager.default.temporaryDirectory.appendingPathComponent("openapi-\(UUID().uuidString).json")
            try served.body.write(to: spec)
            var env = ProcessInfo.processInfo.environment
            env["SCHEMATHESIS_TELEMETRY"] = "false"  // nothing leaves this machine
            env["NO_COLOR"] = "1"
            let r = try await runProcess(
                schemathesis,
                [
                    // Response times are for the benchmarks, not this test: on a loaded 2-core machine the
                    // in-process server can take longer than schemathesis' default 10 s limit.
                    "run", spec.path, "--url", base.absoluteString, "--request-timeout", "60", "--max-response-time", "60", "--checks", "all",
                    "--exclude-checks", "positive_data_acceptance", "--max-examples", "150", "--workers", "1", "--seed", "1",
                ],
                environment: env
            )
            let text = r.out + r.err
            let generated = text.firstMatch(of: /(\d+) generated/).flatMap { Int($0.1) } ?? 0
            print("schemathesis: \(generated) generated test cases")
            #expect(r.status == 0, "schemathesis found problems:\n\(text.suffix(3000))")
            #expect(generated >= 1000, "only \(generated) requests generated")
        }
    }
}
