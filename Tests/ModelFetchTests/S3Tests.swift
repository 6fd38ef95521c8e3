import Foundation
import Testing

@testable import ModelFetch

/// Against a real S3 server: moto in server mode with authentication enforced.
@Suite("S3 (moto, authentication enforced)", .serialized)
struct S3Tests {
    static let server: PythonServer? = Fixtures.available ? try? PythonServer("s3_server.py", [Fixtures.directory.path]) : nil

    func env(secret: String? = nil) throws -> [String: String] {
        let s = try #require(Self.server, "moto could not start: run `make setup`")
        return [
            "AWS_ENDPOINT_URL": s.string("endpoint"), "AWS_ACCESS_KEY_ID": s.string("access_key"),
            "AWS_SECRET_ACCESS_KEY": secret ?? s.string("secret_key"), "AWS_REGION": "us-east-1",
        ]
    }

    @Test("the right key fetches the object, verified")
    func rightKey() throws {
        let out = Fixtures.scratch().appendingPathComponent("model.bin")
        let summary = try quietFetcher(try env()).fetch(uri: "s3://models/fixtures/model.bin", sha256: Fixtures.sha("model.bin"), to: out)
        #expect(sameBytes(out, Fixtures.directory.appendingPathComponent("model.bin")))
        #expect(summary.bytes == 3 << 20 && summary.sha256 == Fixtures.sha("model.bin"))
        #expect(leftovers(in: out.deletingLastPathComponent()).isEmpty)
    }

    @Test("a wrong secret is a credentials error, and the secret is not in it")
    func wrongSecret() throws {
        let out = Fixtures.scratch().appendingPathComponent("model.bin")
        let secret = "wrong-secret-\(UUID().uuidString)"
        do {
            _ = try quietFetcher(try env(secret: secret)).fetch(uri: "s3://models/fixtures/model.bin", sha256: Fixtures.sha("model.bin"), to: out)
            Issue.record("expected a credentials error")
        } catch let e as FetchError {
            guard case .credentials = e else {
                Issue.record("expected credentials, got \(e)")
                return
            }
            #expect(e.exitCode == 3)
            #expect(!e.description.contains(secret))
        }
        #expect(!FileManager.default.fileExists(atPath: out.path))
    }

    @Test("anonymous access to a private bucket is refused")
    func anonymous() throws {
        var e = try env()
        e["AWS_ACCESS_KEY_ID"] = nil
        e["AWS_SECRET_ACCESS_KEY"] = nil
        #expect(throws: FetchError.self) {
            _ = try quietFetcher(e).fetch(
                uri: "s3://models/fixtures/model.bin",
                sha256: Fixtures.sha("model.bin"),
                to: Fixtures.scratch().appendingPathComponent("x")
            )
        }
    }

    @Test("a missing object is a not-found error")
    func missing() throws {
        #expect(throws: FetchError.notFound("s3://models/fixtures/nope.bin: HTTP 404 (NoSuchKey)")) {
            _ = try quietFetcher(try env()).fetch(
                uri: "s3://models/fixtures/nope.bin",
                sha256: String(repeating: "0", count: 64),
                to: Fixtures.scratch().appendingPathComponent("nope.bin")
            )
        }
    }

    @Test("Range requests are honoured (what resume uses)")
    func range() throws {
        let e = try env()
        guard case .s3(let location) = try Source(uri: "s3://models/fixtures/model.bin", environment: e) else { return }
        var request = location.request(key: location.key)
        request.rangeStart = 3_000_000
        let sink = MemorySink()
        let (response, _) = Curl.get(request, sink: sink)
        #expect(response.status == 206)
        let full = try Data(contentsOf: Fixtures.directory.appendingPathComponent("model.bin"))
        #expect(sink.data == full.subdata(in: 3_000_000..<full.count))
    }

    @Test("a prefix lists with ListObjectsV2 across pages and keeps relative paths")
    func prefix() throws {
        let dir = Fixtures.scratch()
        let files = try quietFetcher(try env()).fetchPrefix(uri: "s3://models/many/", to: dir)
        #expect(files.count == 1100)
        #expect(try String(contentsOf: dir.appendingPathComponent("part-1099.txt"), encoding: .utf8) == "object 1099\n")
        let fixtures = try quietFetcher(try env()).fetchPrefix(uri: "s3://models/fixtures/", to: dir.appendingPathComponent("f"))
        #expect(fixtures.count == Fixtures.digests.count + 1)
    }
}
