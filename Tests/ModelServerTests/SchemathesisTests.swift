import Foundation
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
            let p = Process()
            p.executableURL = schemathesis
            p.arguments = ["run", base.appendingPathComponent("openapi.json").absoluteString, "--checks", "all",
                           "--exclude-checks", "positive_data_acceptance", "--max-examples", "150", "--workers", "1", "--seed", "1"]
            var env = ProcessInfo.processInfo.environment
            env["SCHEMATHESIS_TELEMETRY"] = "false"  // nothing leaves this machine
            env["NO_COLOR"] = "1"
            p.environment = env
            let out = Pipe()
            p.standardOutput = out
            p.standardError = out
            try p.run()
            let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            p.waitUntilExit()
            let generated = text.firstMatch(of: /(\d+) generated/).flatMap { Int($0.1) } ?? 0
            print("schemathesis: \(generated) generated test cases")
            #expect(p.terminationStatus == 0, "schemathesis found problems:\n\(text.suffix(3000))")
            #expect(generated >= 1000, "only \(generated) requests generated")
        }
    }
}
