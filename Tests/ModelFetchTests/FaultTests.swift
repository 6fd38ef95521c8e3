import Foundation
import Testing

@testable import ModelFetch

/// Retries, resume, timeouts and integrity against a server that misbehaves on purpose
/// (Tests/Fixtures/fault_server.py).
@Suite("Faults: drops, 5xx, 429, wrong bytes, stalls", .serialized)
struct FaultTests {
    static let server: PythonServer? =
        Fixtures.available
        ? try? PythonServer("fault_server.py", [Fixtures.directory.appendingPathComponent("model.bin").path]) : nil

    func base() throws -> String { try #require(Self.server, "the fault server could not start").string("base") }

    func log() throws -> [[String: Any]] {
        let sink = MemorySink()
        _ = Curl.get(CurlRequest(url: "\(try base())/log"), sink: sink)
        return try JSONSerialization.jsonObject(with: sink.data) as! [[String: Any]]
    }

    func fetch(_ path: String, attempts: Int = 4, env: [String: String] = [:]) throws -> (URL, Fetcher.Summary) {
        let out = Fixtures.scratch().appendingPathComponent("model.bin")
        let summary = try quietFetcher(env, attempts: attempts).fetch(uri: "\(try base())\(path)", sha256: Fixtures.sha("model.bin"), to: out)
        #expect(sameBytes(out, Fixtures.directory.appendingPathComponent("model.bin")))
        return (out, summary)
    }

    @Test("a connection dropped halfway resumes with a Range request")
    func resume() throws {
        let (_, summary) = try fetch("/drop")
        #expect(summary.attempts == 2)
        let ranges = try log().filter { $0["path"] as? String == "/drop" }.map { $0["range"] as? String }
        #expect(ranges.count == 2)
        #expect(ranges[0] == nil)
        let resumedAt = Int(ranges[1]?.dropFirst("bytes=".count).dropLast() ?? "") ?? 0
        #expect(resumedAt > 0 && resumedAt < 3 << 20, "resumed at \(resumedAt)")
    }

    @Test("a server that ignores Range on the retry: the partial file is discarded and the whole object verified")
    func rangeIgnored() throws {
        let (_, summary) = try fetch("/droprange")
        #expect(summary.attempts == 2)
        #expect(
            summary.bytes
                == (try FileManager.default.attributesOfItem(atPath: Fixtures.directory.appendingPathComponent("model.bin").path)[.size] as! NSNumber)
                .int64Value
        )
        let requests = try log().filter { $0["path"] as? String == "/droprange" }
        #expect(requests.count == 2 && requests[1]["range"] is String)
    }

    @Test("a chunked response (no Content-Length) is fetched and verified")
    func chunked() throws {
        _ = try fetch("/chunked")
    }

    @Test("503 twice, then 200: retried with backoff")
    func flaky() throws {
        #expect(try fetch("/flaky").1.attempts == 3)
    }

    @Test("429 with Retry-After is honoured")
    func retryAfter() throws {
        let start = Date()
        #expect(try fetch("/ratelimit").1.attempts == 2)
        #expect(Date().timeIntervalSince(start) >= 1.0)
    }

    @Test("a Retry-After of 30 years waits no longer than the fetcher's own longest backoff", .timeLimit(.minutes(1)))
    func hugeRetryAfter() throws {
        var options = Fetcher.Options(environment: [:])
        options.baseBackoff = 0.05
        options.maxBackoff = 0.5
        let fetcher = Fetcher(environment: [:], options: options, progress: DownloadProgress(quiet: true))
        let out = Fixtures.scratch().appendingPathComponent("model.bin")
        let start = Date()
        let summary = try fetcher.fetch(uri: "\(try base())/ratelimit-huge", sha256: Fixtures.sha("model.bin"), to: out)
        #expect(summary.attempts == 2)
        #expect(Date().timeIntervalSince(start) < 10, "waited \(Date().timeIntervalSince(start)) s")
        #expect(try log().filter { $0["path"] as? String == "/ratelimit-huge" }.count == 2)
    }

    @Test("wrong bytes: a checksum error naming both digests, and nothing left behind")
    func wrongBytes() throws {
        let dir = Fixtures.scratch()
        let out = dir.appendingPathComponent("model.bin")
        do {
            _ = try quietFetcher([:]).fetch(uri: "\(try base())/wrong", sha256: Fixtures.sha("model.bin"), to: out)
            Issue.record("expected a checksum error")
        } catch FetchError.checksumMismatch(let file, let expected, let actual) {
            #expect(file == out.path && expected == Fixtures.sha("model.bin") && actual != expected)
        }
        #expect(!FileManager.default.fileExists(atPath: out.path))
        #expect(leftovers(in: dir).isEmpty)
    }

    @Test("a wrong digest never replaces a good file already in place")
    func keepsGoodFile() throws {
        let (out, _) = try fetch("/ok")
        #expect(throws: FetchError.self) { _ = try quietFetcher([:]).fetch(uri: "\(try base())/wrong", sha256: Fixtures.sha("model.bin"), to: out) }
        #expect(sameBytes(out, Fixtures.directory.appendingPathComponent("model.bin")))
    }

    @Test("a stalled transfer times out instead of hanging")
    func stall() throws {
        let start = Date()
        do {
            _ = try quietFetcher(["S3_READ_TIMEOUT": "2"], attempts: 2).fetch(
                uri: "\(try base())/stall",
                sha256: Fixtures.sha("model.bin"),
                to: Fixtures.scratch().appendingPathComponent("m")
            )
            Issue.record("expected a transfer error")
        } catch let e as FetchError {
            guard case .transfer = e else {
                Issue.record("expected transfer, got \(e)")
                return
            }
            #expect(e.exitCode == 7)
        }
        #expect(Date().timeIntervalSince(start) < 20)
    }

    @Test("404 and 403 fail at once with their own errors")
    func statuses() throws {
        let out = Fixtures.scratch().appendingPathComponent("m")
        #expect(throws: FetchError.notFound("\(try base())/gone: HTTP 404 (NoSuchKey)")) {
            _ = try quietFetcher([:]).fetch(uri: "\(try base())/gone", sha256: Fixtures.sha("model.bin"), to: out)
        }
        #expect(throws: FetchError.credentials("\(try base())/denied: HTTP 403 (AccessDenied)")) {
            _ = try quietFetcher([:]).fetch(uri: "\(try base())/denied", sha256: Fixtures.sha("model.bin"), to: out)
        }
    }

    @Test("a bearer token is sent and never printed")
    func bearer() throws {
        let token = "bearer-secret-\(UUID().uuidString)"
        _ = try fetch("/ok", env: ["MODEL_FETCH_BEARER_TOKEN": token])
        #expect(try log().last { $0["path"] as? String == "/ok" }?["authorization"] as? String == "Bearer \(token)")
        do {
            _ = try quietFetcher(["MODEL_FETCH_BEARER_TOKEN": token]).fetch(
                uri: "\(try base())/denied",
                sha256: Fixtures.sha("model.bin"),
                to: Fixtures.scratch().appendingPathComponent("m")
            )
        } catch let e as FetchError {
            #expect(!e.description.contains(token))
        }
    }
}

@Suite("Archives")
struct ArchiveTests {
    func fetchAndUnpack(_ name: String) throws -> (URL, [String]) {
        let dir = Fixtures.scratch()
        let out = dir.appendingPathComponent(name)
        _ = try quietFetcher([:]).fetch(uri: "file://\(Fixtures.directory.appendingPathComponent(name).path)", sha256: Fixtures.sha(name), to: out)
        return (dir, try Archive.untar(out, into: dir))
    }

    @Test func tarGzUnpacksInside() throws {
        let (dir, files) = try fetchAndUnpack("bundle.tar.gz")
        #expect(Set(files) == ["bundle/model.onnx", "bundle/labels.txt"])
        #expect(try String(contentsOf: dir.appendingPathComponent("bundle/current"), encoding: .utf8) == "onnx bytes")
    }

    @Test("escaping entries are refused and nothing is written", arguments: ["escape.tar.gz", "absolute.tar.gz", "link-out.tar.gz"])
    func hostile(name: String) throws {
        let dir = Fixtures.scratch()
        let out = dir.appendingPathComponent(name)
        _ = try quietFetcher([:]).fetch(uri: "file://\(Fixtures.directory.appendingPathComponent(name).path)", sha256: Fixtures.sha(name), to: out)
        #expect(throws: FetchError.self) { _ = try Archive.untar(out, into: dir) }
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path) == [name])
        #expect(!FileManager.default.fileExists(atPath: dir.deletingLastPathComponent().appendingPathComponent("escaped.txt").path))
    }

    @Test func gunzip() throws {
        let dir = Fixtures.scratch()
        let gz = dir.appendingPathComponent("model.bin.gz")
        _ = try quietFetcher([:]).fetch(
            uri: "file://\(Fixtures.directory.appendingPathComponent("model.bin.gz").path)",
            sha256: Fixtures.sha("model.bin.gz"),
            to: gz
        )
        try Archive.gunzip(gz, to: dir.appendingPathComponent("model.bin"))
        #expect(sameBytes(dir.appendingPathComponent("model.bin"), Fixtures.directory.appendingPathComponent("model.bin")))
    }
}
