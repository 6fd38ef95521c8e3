import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Logging
import ModelServer
import ServiceLifecycle

/// Runs a real `ModelServer` on a free loopback port for the duration of `body`.
func withTestServer<T: Sendable>(
    modelDirectory: URL, _ body: @Sendable (_ base: URL, _ server: ModelServer) async throws -> T
) async throws -> T {
    var config = ServerConfiguration()
    config.host = "127.0.0.1"
    config.port = 0
    config.modelDirectory = modelDirectory
    var logger = Logger(label: "test")
    logger.logLevel = .warning
    let server = ModelServer(configuration: config, logger: logger)
    let (portStream, portContinuation) = AsyncStream<Int>.makeStream()
    let app = server.application { port in portContinuation.yield(port) }
    let group = ServiceGroup(configuration: .init(services: [app, server.model], logger: logger))
    return try await withThrowingTaskGroup(of: Void.self) { tasks in
        tasks.addTask { try await group.run() }
        var it = portStream.makeAsyncIterator()
        guard let port = await it.next() else { throw URLError(.cannotConnectToHost) }
        defer { Task { await group.triggerGracefulShutdown() } }
        let result = try await body(URL(string: "http://127.0.0.1:\(port)")!, server)
        await group.triggerGracefulShutdown()
        try await tasks.waitForAll()
        return result
    }
}

struct HTTPResult {
    var status: Int
    var body: Data
    var headers: [String: String]
    var text: String { String(decoding: body, as: UTF8.self) }
}

func http(_ method: String, _ url: URL, body: Data? = nil, headers: [String: String] = [:]) async throws -> HTTPResult {
    var request = URLRequest(url: url)
    request.httpMethod = method
    request.httpBody = body
    for (k, v) in headers { request.setValue(v, forHTTPHeaderField: k) }
    let (data, response) = try await URLSession.shared.data(for: request)
    let r = response as! HTTPURLResponse
    var h: [String: String] = [:]
    for (k, v) in r.allHeaderFields { h["\(k)".lowercased()] = "\(v)" }
    return HTTPResult(status: r.statusCode, body: data, headers: h)
}

/// Polls until the server reports ready, or fails after `seconds`.
func waitUntilReady(_ base: URL, seconds: Double = 60) async throws {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
        if try await http("GET", base.appendingPathComponent("v2/health/ready")).status == 200 { return }
        try await Task.sleep(for: .milliseconds(50))
    }
    throw URLError(.timedOut)
}

enum Paths {
    static let repoRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let demoModel = repoRoot.appendingPathComponent("models/efficientnet-lite0")
    static var demoArtifactExists: Bool { FileManager.default.fileExists(atPath: demoModel.appendingPathComponent("model.onnx").path) }
    static var binary: URL { repoRoot.appendingPathComponent(".build/debug/model-server") }
}
