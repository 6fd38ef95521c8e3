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
    /// After SIGTERM (and the readiness grace), seconds in-flight requests get to finish.
    public var drainTimeoutSeconds: Double = 30
    /// Largest request body accepted (413 above it).
    public var maxBodyBytes = 16 << 20
    /// Largest image (width × height) decoded; larger ones are refused before decoding (413).
    public var maxPixels = 40_000_000
    /// Seconds a connection may sit idle (or stall mid-request) before it is closed.
    public var idleTimeoutSeconds: Double = 60
    /// API keys for the prediction routes; empty means no authentication.
    public var apiKeys: [String] = []
    /// Serve `/metrics` on this port instead of the main one (nil: on the main port).
    public var metricsPort: Int?
    /// Dynamic batching: rows per engine call, wait for company, queue bound, per-request timeout.
    /// Prediction requests in progress at once (reading, decoding, queued or running); more get
    /// 503 + `Retry-After` before their bodies are read (`MAX_CONCURRENT_REQUESTS`).
    public var maxConcurrentRequests = 64
    /// Of those, how many read, decode and queue at once; the others wait without holding a
    /// decoded image (`MAX_ACTIVE_REQUESTS`). Enough for a running batch, the next, and decoding.
    public var maxActiveRequests = 12
    public var batching = Batcher.Configuration()

    public init() {}

    /// Reads `HOST`, `PORT`, `MODEL_DIR`, `READINESS_GRACE_SECONDS`, `SKIP_VERIFY`, `MAX_BODY_BYTES`,
    /// `MAX_IMAGE_PIXELS`, `MAX_BATCH_SIZE`, `MAX_QUEUE_DELAY_MS`, `MAX_QUEUE_SIZE`, `MAX_CONCURRENT_REQUESTS`,
    /// `MAX_ACTIVE_REQUESTS`, `REQUEST_TIMEOUT_SECONDS`, `DRAIN_TIMEOUT_SECONDS`, `API_KEYS` (comma-separated),
    /// `API_KEYS_FILE` (one per line), `METRICS_PORT`, `IDLE_TIMEOUT_SECONDS`.
    public init(environment env: [String: String]) {
        if let v = env["HOST"] { host = v }
        if let v = env["PORT"].flatMap(Int.init) { port = v }
        if let v = env["MODEL_DIR"] { modelDirectory = URL(fileURLWithPath: v) }
        if let v = env["READINESS_GRACE_SECONDS"].flatMap(Double.init) { readinessGraceSeconds = v }
        if let v = env["SKIP_VERIFY"] { skipVerify = ["1", "true", "yes"].contains(v.lowercased()) }
        if let v = env["API_KEYS"] { apiKeys += v.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty } }
        if let path = env["API_KEYS_FILE"], let text = try? String(contentsOfFile: path, encoding: .utf8) {
            apiKeys += text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty && !$0.hasPrefix("#") }
        }
        if let v = env["METRICS_PORT"].flatMap(Int.init) { metricsPort = v }
        if let v = env["IDLE_TIMEOUT_SECONDS"].flatMap(Double.init), v > 0 { idleTimeoutSeconds = v }
        if let v = env["DRAIN_TIMEOUT_SECONDS"].flatMap(Double.init), v > 0 { drainTimeoutSeconds = v }
        if let v = env["MAX_BODY_BYTES"].flatMap(Int.init), v > 0 { maxBodyBytes = v }
        if let v = env["MAX_IMAGE_PIXELS"].flatMap(Int.init), v > 0 { maxPixels = v }
        if let v = env["MAX_BATCH_SIZE"].flatMap(Int.init), v > 0 { batching.maxBatchSize = v }
        if let v = env["MAX_QUEUE_DELAY_MS"].flatMap(Double.init), v >= 0 { batching.maxQueueDelay = .microseconds(Int(v * 1000)) }
        if let v = env["MAX_QUEUE_SIZE"].flatMap(Int.init), v > 0 { batching.maxQueueSize = v }
        if let v = env["MAX_CONCURRENT_REQUESTS"].flatMap(Int.init), v > 0 { maxConcurrentRequests = v }
        if let v = env["MAX_ACTIVE_REQUESTS"].flatMap(Int.init), v > 0 { maxActiveRequests = v }
        if let v = env["REQUEST_TIMEOUT_SECONDS"].flatMap(Double.init), v > 0 { batching.timeout = .milliseconds(Int(v * 1000)) }
    }
}

/// This server's name and version, reported by `GET /version` and `GET /v2`.
public enum ServerInfo {
    public static let name = "swift-model-server"
    public static let version = "0.1.0"
}
