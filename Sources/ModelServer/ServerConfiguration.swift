import Foundation

/// Settings for `model-server serve`, from flags or the environment.
///
/// ```swift
/// let config = ServerConfiguration(environment: ProcessInfo.processInfo.environment)
/// ```
public struct ServerConfiguration: Sendable {
    public var host = "0.0.0.0"
    public var port = 8080
    /// Folder with `model.json`, the artifact and labels.
    public var modelDirectory = URL(fileURLWithPath: "/models/model")
    /// Seconds to keep answering (with readiness 503) after SIGTERM before draining the server.
    public var readinessGraceSeconds: Double = 0
    /// Skip the artifact's SHA-256 check at start-up (it costs ~50 ms per 20 MB).
    public var skipVerify = false

    public init() {}

    /// Reads `HOST`, `PORT`, `MODEL_DIR`, `READINESS_GRACE_SECONDS`, `SKIP_VERIFY`.
    public init(environment env: [String: String]) {
        if let v = env["HOST"] { host = v }
        if let v = env["PORT"].flatMap(Int.init) { port = v }
        if let v = env["MODEL_DIR"] { modelDirectory = URL(fileURLWithPath: v) }
        if let v = env["READINESS_GRACE_SECONDS"].flatMap(Double.init) { readinessGraceSeconds = v }
        if let v = env["SKIP_VERIFY"] { skipVerify = ["1", "true", "yes"].contains(v.lowercased()) }
    }
}

/// This server's name and version, reported by `GET /version` and `GET /v2`.
public enum ServerInfo {
    public static let name = "swift-model-server"
    public static let version = "0.1.0"
}
