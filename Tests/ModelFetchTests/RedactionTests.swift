import Foundation
import Testing

@testable import ModelFetch

/// `MODEL_FETCH_HEADER`'s value is a secret as a whole: none of its words may reach any output,
/// even when a server echoes it back in an error (Tests/Fixtures/fault_server.py, `/echo`).
@Suite("Header redaction", .serialized)
struct RedactionTests {
    let first = "first-\(UUID().uuidString)", second = "second-\(UUID().uuidString)"
    var header: String { "X-Api-Key: \(first) \(second)" }

    func base() throws -> String { try #require(FaultTests.server, "the fault server could not start").string("base") }

    @Test("a multi-word header value echoed in an error is redacted whole")
    func echoed() throws {
        do {
            _ = try quietFetcher(["MODEL_FETCH_HEADER": header]).fetch(
                uri: "\(try base())/echo",
                sha256: Fixtures.sha("model.bin"),
                to: Fixtures.scratch().appendingPathComponent("m")
            )
            Issue.record("expected a credentials error")
        } catch let e as FetchError {
            #expect(e.exitCode == 3, "\(e)")
            #expect(e.description.contains("(AccessDenied for REDACTED)"), "\(e)")
            #expect(!e.description.contains(first) && !e.description.contains(second), "\(e)")
        }
    }

    @Test("the command prints none of it either")
    func command() throws {
        let r = try CommandTests().run(
            ["\(try base())/echo", "--sha256", Fixtures.sha("model.bin"), "--output", Fixtures.scratch().appendingPathComponent("m").path],
            env: ["MODEL_FETCH_HEADER": header]
        )
        #expect(r.status == 3, "\(r.output)")
        #expect(r.output.contains("REDACTED") && !r.output.contains(first) && !r.output.contains(second), "\(r.output)")
    }

    @Test("each whole value and each of its words are secrets; the header names are not")
    func values() {
        let secrets = Redact.headerValues(["Authorization: Bearer tok-123456", "X-Api-Key:  k1 k2-long  ", "malformed-no-colon"])
        #expect(secrets == ["Bearer tok-123456", "Bearer", "tok-123456", "k1 k2-long", "k1", "k2-long", "malformed-no-colon", "malformed-no-colon"])
        #expect(
            Redact.text("Authorization: Bearer tok-123456 / X-Api-Key: k1 k2-long", secrets: secrets)
                == "Authorization: REDACTED / X-Api-Key: REDACTED"
        )
    }
}
