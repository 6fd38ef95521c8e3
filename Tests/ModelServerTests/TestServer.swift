import Foundation
import Logging
import ModelServer
import ServiceLifecycle
import TestSupport

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// Runs a real `ModelServer` on a free loopback port for the duration of `body`.
func withTestServer<T: Sendable>(
    modelDirectory: URL,
    configure: (inout ServerConfiguration) -> Void = { _ in },
    _ body: @Sendable (_ base: URL, _ server: ModelServer) async throws -> T
) async throws -> T {
    var config = ServerConfiguration()
    configure(&config)
    config.host = "127.0.0.1"
    config.port = 0
    config.modelDirectory = modelDirectory
    var logger = Logger(label: "test")
    logger.logLevel = .warning
    let server = ModelServer(configuration: config, logger: logger)
    let (portStream, portContinuation) = AsyncStream<Int>.makeStream()
    let group = ServiceGroup(configuration: .init(services: server.services { port in portContinuation.yield(port) }, logger: logger))
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

/// A port the kernel just handed out (bound to port 0, then released).
func freePort() throws -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var addr = sockaddr_in()
    addr.sin_family = sa_family_t(AF_INET)
    addr.sin_addr.s_addr = inet_addr("127.0.0.1")
    addr.sin_port = 0
    var len = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafeMutablePointer(to: &addr) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) == 0 && getsockname(fd, $0, &len) == 0 }
    }
    guard bound else { throw URLError(.cannotConnectToHost) }
    return Int(UInt16(bigEndian: addr.sin_port))
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

/// Runs a program to completion on its own thread and returns its status, stdout and stderr.
///
/// Waiting happens off Swift's cooperative thread pool: the test servers run in this process and
/// their request handlers need those threads, so a blocking wait there could deadlock a test.
func runProcess(
    _ executable: URL,
    _ arguments: [String],
    environment: [String: String]? = nil
) async throws -> (status: Int32, out: String, err: String) {
    try await withCheckedThrowingContinuation { continuation in
        Thread.detachNewThread {
            let p = Process()
            p.executableURL = executable
            p.arguments = arguments
            if let environment { p.environment = environment }
            // stderr goes to a file so that neither pipe can fill up while the other is read.
            let errURL = FileManager.default.temporaryDirectory.appendingPathComponent("stderr-\(UUID().uuidString)")
            FileManager.default.createFile(atPath: errURL.path, contents: nil)
            defer { try? FileManager.default.removeItem(at: errURL) }
            let out = Pipe()
            p.standardOutput = out
            p.standardError = FileHandle(forWritingAtPath: errURL.path)
            do { try p.run() } catch { return continuation.resume(throwing: error) }
            let data = out.fileHandleForReading.readDataToEndOfFile()
            p.waitUntilExit()
            let errText = (try? String(contentsOf: errURL, encoding: .utf8)) ?? ""
            continuation.resume(returning: (p.terminationStatus, String(decoding: data, as: UTF8.self), errText))
        }
    }
}

/// Starts the real `model-server` binary on a free port and waits until it is ready.
/// Its stdout and stderr go to `output` when given (the secrets test reads them back).
func startServerProcess(environment: [String: String] = [:], logLevel: String = "warning", output: URL? = nil) async throws -> (Process, URL) {
    let port = try freePort()
    let process = Process()
    process.executableURL = Paths.binary
    process.arguments = ["serve", "--host", "127.0.0.1", "--port", "\(port)", "--model-dir", Paths.demoModel.path, "--log-level", logLevel]
    // Tests run several servers at once: the gRPC port is off unless a test asks for one.
    process.environment = ProcessInfo.processInfo.environment.merging(["GRPC_PORT": "0"].merging(environment) { $1 }) { $1 }
    if let output {
        FileManager.default.createFile(atPath: output.path, contents: nil)
        let handle = try FileHandle(forWritingTo: output)
        process.standardOutput = handle
        process.standardError = handle
    }
    try process.run()
    let base = URL(string: "http://127.0.0.1:\(port)")!
    // Generous: under the full parallel test suite a debug build loads slowly.
    for _ in 0..<1800 {
        if (try? await http("GET", base.appendingPathComponent("v2/health/ready")))?.status == 200 { return (process, base) }
        try await Task.sleep(for: .milliseconds(50))
    }
    process.terminate()
    throw URLError(.timedOut, userInfo: [NSLocalizedDescriptionKey: "model-server did not become ready"])
}

/// Waits (without blocking a thread) until `process` has exited, for at most `seconds`.
func waitForExit(_ process: Process, seconds: Double = 30) async throws {
    let deadline = Date().addingTimeInterval(seconds)
    while process.isRunning && Date() < deadline { try await Task.sleep(for: .milliseconds(50)) }
}

/// Runs a Python script from Tests/Fixtures with the repository's venv; returns its stdout.
func python(_ script: String, _ args: [String]) async throws -> String {
    let r = try await runProcess(
        Paths.repoRoot.appendingPathComponent(".venv/bin/python"),
        [Paths.repoRoot.appendingPathComponent("Tests/Fixtures/\(script)").path] + args
    )
    guard r.status == 0 else { throw URLError(.badServerResponse, userInfo: ["stderr": r.err]) }
    return r.out
}

func jsonObject(_ data: Data) -> [String: Any] { ((try? JSONSerialization.jsonObject(with: data)) as? [String: Any]) ?? [:] }

extension Paths {
    static var binary: URL { debugBinary("model-server") }
}

/// A TCP connection to 127.0.0.1:`port`, as a socket the caller closes.
func rawConnection(port: Int) throws -> Int32 {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    var addr = sockaddr_in()
    addr.sin_family = sa_family_t(AF_INET)
    addr.sin_port = in_port_t(UInt16(port).bigEndian)
    addr.sin_addr.s_addr = inet_addr("127.0.0.1")
    let ok = withUnsafePointer(to: &addr) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    guard ok == 0 else {
        close(fd)
        throw URLError(.cannotConnectToHost)
    }
    return fd
}
