import Foundation
import TestSupport
import Testing

@testable import ModelFetch

extension Paths {
    static var binary: URL { debugBinary("model-fetch") }
}

/// A Python test server (Tests/Fixtures/*_server.py) run for the duration of a test: it prints
/// one JSON line when ready and stops when its stdin closes.
final class PythonServer: @unchecked Sendable {
    let process = Process()
    let stdin = Pipe()
    let info: [String: Any]

    init(_ script: String, _ arguments: [String]) throws {
        process.executableURL = Paths.python
        process.arguments = [Paths.fixture(script).path] + arguments
        let stdout = Pipe()
        process.standardInput = stdin
        process.standardOutput = stdout
        try process.run()
        var line = Data()
        while true {
            let byte = stdout.fileHandleForReading.readData(ofLength: 1)
            if byte.isEmpty || byte == Data("\n".utf8) { break }
            line.append(byte)
        }
        guard let json = try JSONSerialization.jsonObject(with: line) as? [String: Any] else {
            throw FetchError.usage("\(script) did not start")
        }
        info = json
    }

    func string(_ key: String) -> String { info[key] as! String }

    deinit {
        try? stdin.fileHandleForWriting.close()
        process.terminate()
        process.waitUntilExit()
    }
}

/// Fixture files (made once per test process) and their digests.
enum Fixtures {
    static let directory: URL = {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("model-fetch-fixtures-\(getpid())")
        let p = Process()
        p.executableURL = Paths.python
        p.arguments = [Paths.fixture("fetch_fixtures.py").path, dir.path]
        try? p.run()
        p.waitUntilExit()
        return dir
    }()

    static var digests: [String: String] {
        (try? JSONSerialization.jsonObject(with: Data(contentsOf: directory.appendingPathComponent("sha256.json")))) as? [String: String] ?? [:]
    }

    static func sha(_ name: String) -> String { digests[name]! }

    static func scratch() -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("fetch-\(UUID().uuidString)")
        try? FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir
    }

    static var available: Bool { FileManager.default.fileExists(atPath: Paths.python.path) }
}

func quietFetcher(_ env: [String: String], attempts: Int = 4) -> Fetcher {
    var options = Fetcher.Options(environment: env)
    options.maxAttempts = attempts
    options.baseBackoff = 0.05
    return Fetcher(environment: env, options: options, progress: DownloadProgress(quiet: true))
}

func sameBytes(_ a: URL, _ b: URL) -> Bool {
    (try? Data(contentsOf: a)) == (try? Data(contentsOf: b))
}

func leftovers(in dir: URL) -> [String] {
    ((try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? []).filter { $0.contains(".partial") }
}
