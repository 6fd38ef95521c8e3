import Foundation
import Hummingbird
import Logging
import TestSupport
import Testing

@testable import ModelServer

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

@Suite("API keys and the metrics port", .serialized)
struct SecurityTests {
    @Test("with API_KEYS, predictions need a key; probes stay open")
    func apiKeys() async throws {
        try #require(Paths.demoArtifactExists && Paths.imagesExist, "run `make model test-data`")
        let key = "test-key-\(UUID().uuidString)"
        try await withTestServer(modelDirectory: Paths.demoModel, configure: { $0.apiKeys = [key, "second-key"] }) { base, _ in
            try await waitUntilReady(base)
            let url = base.appendingPathComponent("v1/models/efficientnet-lite0:classify")
            let jpeg = try Data(contentsOf: Paths.image("coffee.jpg"))
            let none = try await http("POST", url, body: jpeg, headers: ["Content-Type": "image/jpeg"])
            #expect(none.status == 401 && none.headers["www-authenticate"] == "Bearer")
            #expect((jsonObject(none.body)["error"] as? String)?.contains("API key is required") == true)
            let wrong = try await http("POST", url, body: jpeg, headers: ["Content-Type": "image/jpeg", "Authorization": "Bearer nope"])
            #expect(wrong.status == 401 && !wrong.text.contains(key))
            #expect(try await http("POST", url, body: jpeg, headers: ["Content-Type": "image/jpeg", "Authorization": "Bearer \(key)"]).status == 200)
            #expect(try await http("POST", url, body: jpeg, headers: ["Content-Type": "image/jpeg", "X-API-Key": "second-key"]).status == 200)
            #expect(
                try await http("POST", base.appendingPathComponent("score"), body: Data("{}".utf8), headers: ["Content-Type": "application/json"])
                    .status == 401
            )
            #expect(try await http("GET", base.appendingPathComponent("v2/models/efficientnet-lite0")).status == 401)
            for open in ["", "v2/health/live", "v2/health/ready", "v2/models/efficientnet-lite0/ready", "metrics", "version"] {
                #expect(try await http("GET", base.appendingPathComponent(open)).status == 200, "GET /\(open) must stay open")
            }
        }
    }

    @Test("keys come from API_KEYS and API_KEYS_FILE")
    func keyConfiguration() throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("keys-\(UUID().uuidString)")
        try "# comment\nfile-key-1\n\nfile-key-2\n".write(to: file, atomically: true, encoding: .utf8)
        let config = try ServerConfiguration(environment: ["API_KEYS": "a, b", "API_KEYS_FILE": file.path, "METRICS_PORT": "9091"])
        #expect(config.apiKeys == ["a", "b", "file-key-1", "file-key-2"])
        #expect(config.metricsPort == 9091)
        #expect(APIKeys.constantTimeEqual("abc", "abc"))
        #expect(!APIKeys.constantTimeEqual("abc", "abd"))
        #expect(!APIKeys.constantTimeEqual("abc", "abcd"))
        #expect(APIKeys(["a", "b", "c"]).accepts("b"))
        #expect(!APIKeys(["a", "b", "c"]).accepts("d"))
    }

    @Test("an API_KEYS_FILE that cannot be read or holds no key stops the server from starting")
    func unreadableKeyFile() throws {
        let missing = "/nonexistent/keys-\(UUID().uuidString)"
        #expect(throws: ServerConfiguration.InvalidSetting.self) { try ServerConfiguration(environment: ["API_KEYS_FILE": missing]) }
        let empty = FileManager.default.temporaryDirectory.appendingPathComponent("keys-\(UUID().uuidString)")
        try "# only a comment\n\n".write(to: empty, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: empty) }
        #expect(throws: ServerConfiguration.InvalidSetting.self) { try ServerConfiguration(environment: ["API_KEYS_FILE": empty.path]) }
        // Other settings are strict too: a typo does not silently become the default.
        for (name, value) in [
            ("PORT", "80a"), ("MAX_BODY_BYTES", "-1"), ("MAX_ROWS_PER_REQUEST", "0"), ("BODY_TIMEOUT_SECONDS", "nan"),
            ("MAX_BUFFERED_BODY_BYTES", "1024"),
        ] {
            #expect(throws: ServerConfiguration.InvalidSetting.self, "\(name)=\(value)") { try ServerConfiguration(environment: [name: value]) }
        }
    }

    @Test("the real binary refuses to start with an unreadable API_KEYS_FILE, saying why")
    func refusesToStart() async throws {
        try #require(FileManager.default.fileExists(atPath: Paths.binary.path), "build model-server first")
        var env = ProcessInfo.processInfo.environment
        env["API_KEYS_FILE"] = "/nonexistent/api-keys"
        let result = try await runProcess(Paths.binary, ["serve", "--port", "0"], environment: env)
        #expect(result.status != 0)
        #expect(result.err.contains("API_KEYS_FILE /nonexistent/api-keys cannot be read"), "stderr: \(result.err)")
    }

    @Test("the server logs no secret: not its API keys, cloud credentials, or what clients send")
    func noSecretsInLogs() async throws {
        try #require(FileManager.default.fileExists(atPath: Paths.binary.path), "build model-server first")
        try #require(Paths.demoArtifactExists && Paths.imagesExist, "run `make model test-data`")
        let apiKey = "apikey-SECRET-1b9f0c"
        let wrongKey = "wrongkey-SECRET-77aa41"
        let awsSecret = "awssecret-SECRET-wJalrXUtnFEMI"
        let azureKey = "azurekey-SECRET-Eby8vdM02xNO"
        let sig = "sig-SECRET-5f3e2d"
        let sessionToken = "session-SECRET-FwoGZXIvYXdz"
        let log = FileManager.default.temporaryDirectory.appendingPathComponent("server-log-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: log) }
        let (process, base) = try await startServerProcess(
            environment: [
                "API_KEYS": apiKey, "AWS_ACCESS_KEY_ID": "AKIAEXAMPLE", "AWS_SECRET_ACCESS_KEY": awsSecret,
                "AWS_SESSION_TOKEN": sessionToken, "AZURE_STORAGE_KEY": azureKey,
                "AZURE_STORAGE_CONNECTION_STRING": "AccountName=a;AccountKey=\(azureKey)",
            ],
            logLevel: "trace",
            output: log
        )
        defer { if process.isRunning { process.terminate() } }
        let jpeg = try Data(contentsOf: Paths.image("coffee.jpg"))
        let classify = base.appendingPathComponent("v1/models/efficientnet-lite0:classify")
        #expect(
            try await http("POST", classify, body: jpeg, headers: ["Content-Type": "image/jpeg", "Authorization": "Bearer \(apiKey)"]).status == 200
        )
        #expect(
            try await http("POST", classify, body: jpeg, headers: ["Content-Type": "image/jpeg", "Authorization": "Bearer \(wrongKey)"]).status == 401
        )
        #expect(
            try await http("POST", classify, body: Data("garbage".utf8), headers: ["Content-Type": "image/jpeg", "X-API-Key": apiKey]).status == 400
        )
        let withQuery = URL(string: base.absoluteString + "/v2/models/efficientnet-lite0/infer?sig=\(sig)")!
        #expect(
            try await http("POST", withQuery, body: Data("{".utf8), headers: ["X-API-Key": apiKey, "Content-Type": "application/json"]).status == 400
        )
        kill(process.processIdentifier, SIGTERM)
        try await waitForExit(process)
        let text = try String(contentsOf: log, encoding: .utf8)
        #expect(text.contains("model ready"), "the log was captured at trace level")
        for secret in [apiKey, wrongKey, awsSecret, azureKey, sig, sessionToken] {
            #expect(!text.contains(secret), "the server log holds \(secret)")
        }
    }

    @Test("with METRICS_PORT, /metrics moves off the main port")
    func metricsPort() async throws {
        try #require(Paths.demoArtifactExists, "run `make model`")
        let port = try freePort()
        try await withTestServer(modelDirectory: Paths.demoModel, configure: { $0.metricsPort = port }) { base, _ in
            try await waitUntilReady(base)
            #expect(try await http("GET", base.appendingPathComponent("metrics")).status == 404)
            let metrics = try await http("GET", URL(string: "http://127.0.0.1:\(port)/metrics")!)
            #expect(metrics.status == 200 && metrics.text.contains("model_server_model_info"))
        }
    }
}

@Suite("Slow clients")
struct SlowClientTests {
    @Test("a connection that stops mid-request is closed after the idle timeout; others are served meanwhile")
    func slowloris() async throws {
        let empty = FileManager.default.temporaryDirectory.appendingPathComponent("no-model-\(UUID().uuidString)")
        try await withTestServer(modelDirectory: empty, configure: { $0.idleTimeoutSeconds = 1 }) { base, _ in
            let fd = try rawConnection(port: base.port!)
            defer { close(fd) }
            _ = "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ".withCString { send(fd, $0, strlen($0), 0) }
            #expect(try await http("GET", base).text == "Healthy", "another client is served while one stalls")
            var timeout = timeval(tv_sec: 5, tv_usec: 0)
            setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
            let start = Date()
            var byte: UInt8 = 0
            let n = recv(fd, &byte, 1, 0)
            #expect(n <= 0, "the stalled connection should be closed, got \(n) bytes")
            #expect(Date().timeIntervalSince(start) < 4.5, "closed by the idle timeout, not by our 5 s receive timeout")
        }
    }

    @Test("a request head trickled in a byte at a time is cut off at the idle timeout, counted from the start of the wait")
    func headerTrickle() async throws {
        let empty = FileManager.default.temporaryDirectory.appendingPathComponent("no-model-\(UUID().uuidString)")
        try await withTestServer(modelDirectory: empty, configure: { $0.idleTimeoutSeconds = 1 }) { base, _ in
            let fd = try rawConnection(port: base.port!)
            defer { close(fd) }
            signal(SIGPIPE, SIG_IGN)
            // One byte every 200 ms: each byte would restart a per-byte idle timer.
            let start = Date()
            var closedAfter: Double?
            for byte in Array("GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa".utf8) {
                var b = byte
                if send(fd, &b, 1, 0) != 1 {
                    closedAfter = Date().timeIntervalSince(start)
                    break
                }
                var poll = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
                if Glibc.poll(&poll, 1, 200) > 0 {
                    var r: UInt8 = 0
                    if recv(fd, &r, 1, 0) <= 0 {
                        closedAfter = Date().timeIntervalSince(start)
                        break
                    }
                }
            }
            let after = try #require(closedAfter, "the trickling connection was never closed")
            #expect(after < 2.5, "closed \(after) s after the first byte; the idle timeout is 1 s")
        }
    }
}
