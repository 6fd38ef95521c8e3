import Foundation
import TestSupport
import Testing

@testable import ModelServer

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

@Suite("Health, readiness and shutdown", .serialized)
struct HealthTests {
    @Test("GET / says Healthy; live at once; ready only after the model loads")
    func probes() async throws {
        try #require(Paths.demoArtifactExists, "the demo model is missing: run `make model`")
        try await withTestServer(modelDirectory: Paths.demoModel) { base, server in
            let root = try await http("GET", base)
            #expect(root.status == 200 && root.text == "Healthy")
            #expect(try await http("GET", base.appendingPathComponent("v2/health/live")).status == 200)
            try await waitUntilReady(base)
            #expect(server.host.isReady)
            let version = try await http("GET", base.appendingPathComponent("version"))
            let json = try JSONSerialization.jsonObject(with: version.body) as! [String: Any]
            #expect(json["version"] as? String == ServerInfo.version)
            #expect((json["model"] as? [String: Any])?["name"] as? String == "efficientnet-lite0")
        }
    }

    @Test("a missing model keeps the server live but never ready")
    func missingModel() async throws {
        let empty = FileManager.default.temporaryDirectory.appendingPathComponent("no-model-\(UUID().uuidString)")
        try await withTestServer(modelDirectory: empty) { base, server in
            #expect(try await http("GET", base).text == "Healthy")
            try await Task.sleep(for: .milliseconds(200))
            #expect(try await http("GET", base.appendingPathComponent("v2/health/ready")).status == 503)
            #expect(server.host.notReadyReason.contains("failed to load"))
        }
    }

    @Test("the real binary exits 0 on SIGTERM and on SIGINT", arguments: [SIGTERM, SIGINT])
    func gracefulShutdown(signal: Int32) async throws {
        try #require(FileManager.default.fileExists(atPath: Paths.binary.path), "build model-server first")
        try #require(Paths.demoArtifactExists, "the demo model is missing: run `make model`")
        let (process, _) = try await startServerProcess()
        defer { if process.isRunning { process.terminate() } }
        kill(process.processIdentifier, signal)
        for _ in 0..<100 where process.isRunning { try await Task.sleep(for: .milliseconds(50)) }
        #expect(!process.isRunning)
        #expect(process.terminationReason == .exit && process.terminationStatus == 0)
    }

    @Test(
        "SIGTERM with the defaults: readiness 503 at once, requests still served (closing their connections) until they stop arriving, in-flight ones finish, then exit 0"
    )
    func drain() async throws {
        try #require(FileManager.default.fileExists(atPath: Paths.binary.path), "build model-server first")
        try #require(Paths.demoArtifactExists && Paths.imagesExist, "run `make model test-data`")
        let (process, base) = try await startServerProcess()
        defer { if process.isRunning { process.terminate() } }
        // A slow request: 24 images in one multipart form.
        let boundary = "drain-\(UUID().uuidString)"
        var form = Data()
        let jpeg = try Data(contentsOf: Paths.image("coffee.jpg"))
        for i in 0..<24 {
            form +=
                Data("--\(boundary)\r\nContent-Disposition: form-data; name=\"f\(i)\"; filename=\"c.jpg\"\r\nContent-Type: image/jpeg\r\n\r\n".utf8)
                + jpeg + Data("\r\n".utf8)
        }
        form += Data("--\(boundary)--\r\n".utf8)
        let inFlight = Task {
            try await http(
                "POST",
                base.appendingPathComponent("v1/models/efficientnet-lite0:classify"),
                body: form,
                headers: ["Content-Type": "multipart/form-data; boundary=\(boundary)"]
            )
        }
        try await Task.sleep(for: .milliseconds(30))
        kill(process.processIdentifier, SIGTERM)
        try await Task.sleep(for: .milliseconds(200))
        #expect(try await http("GET", base.appendingPathComponent("v2/health/ready")).status == 503)
        #expect(try await http("GET", base).text == "Healthy")
        // New predictions are still served while they keep arriving: load balancers keep sending
        // them until they see the replica is not ready. Each response closes its connection.
        for _ in 0..<3 {
            try await Task.sleep(for: .milliseconds(700))
            let during = try await rawRequest(port: base.port!, method: "GET", target: "/v2/models/efficientnet-lite0", keepAlive: true)
            #expect(during.status == 200 && during.connectionClose, "a request while draining: \(during)")
        }
        let during = try await http(
            "POST",
            base.appendingPathComponent("v1/models/efficientnet-lite0:classify"),
            body: jpeg,
            headers: ["Content-Type": "image/jpeg"]
        )
        #expect(during.status == 200, "a prediction while draining: \(during.status) \(during.text)")
        let finished = try await inFlight.value
        #expect(finished.status == 200, "in-flight request: \(finished.status) \(finished.text)")
        #expect((jsonObject(finished.body)["predictions"] as? [Any])?.count == 24)
        for _ in 0..<600 where process.isRunning { try await Task.sleep(for: .milliseconds(50)) }
        #expect(!process.isRunning)
        #expect(process.terminationReason == .exit && process.terminationStatus == 0)
    }
}
