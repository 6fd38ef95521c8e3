import Foundation
import TestSupport
import Testing

/// The gRPC port of the real binary, driven by Triton's gRPC client and gRPC's health client
/// (Tests/Fixtures/triton_grpc_client.py checks each call and lists what failed).
@Suite("gRPC with tritonclient", .serialized)
struct GRPCTests {
    func requirements() throws {
        try #require(FileManager.default.fileExists(atPath: Paths.binary.path), "build model-server first")
        try #require(Paths.demoArtifactExists && Paths.imagesExist, "run `make model test-data`")
    }

    /// Starts the binary with a gRPC port, runs the client script, then stops the server with
    /// SIGTERM: it must exit 0 (the gRPC server shuts down with the HTTP one).
    func run(environment: [String: String] = [:], key: String? = nil, maxMessage: Int? = nil, buffered: Int? = nil) async throws {
        try requirements()
        let grpcPort = try freePort()
        let (process, base) = try await startServerProcess(environment: environment.merging(["GRPC_PORT": "\(grpcPort)"]) { $1 })
        defer { if process.isRunning { process.terminate() } }
        var args = ["127.0.0.1:\(grpcPort)", "127.0.0.1:\(base.port!)", Paths.demoModel.path, Paths.image("coffee.jpg").path]
        if let key { args += ["--key", key] }
        if let maxMessage { args += ["--max-message", "\(maxMessage)"] }
        if let buffered { args += ["--buffered", "\(buffered)"] }
        let out = try await python("triton_grpc_client.py", args)
        let report = jsonObject(Data(out.utf8))
        let failures = report["failures"] as? [String]
        #expect(failures != nil, "no report: \(out)")
        #expect(failures?.isEmpty == true, "\(failures ?? [])")
        #expect((report["seen"] as? [String: Any])?["fp32_same_as_rest"] as? Bool == true)
        kill(process.processIdentifier, SIGTERM)
        try await waitForExit(process, seconds: 30)
        #expect(!process.isRunning && process.terminationReason == .exit && process.terminationStatus == 0)
    }

    @Test("health, metadata, FP32 (raw and typed) against onnxruntime and REST, BYTES images, classification, errors as status codes, the body budget")
    func tritonClient() async throws {
        try await run(environment: ["MAX_BODY_BYTES": "\(4 << 20)", "MAX_BUFFERED_BODY_BYTES": "\(4 << 20)"], maxMessage: 4 << 20, buffered: 4 << 20)
    }

    @Test("with API keys: inference and model metadata need authorization: Bearer KEY; probes and health stay open")
    func apiKeys() async throws {
        try await run(environment: ["API_KEYS": "grpc-key-1"], key: "grpc-key-1")
    }
}
