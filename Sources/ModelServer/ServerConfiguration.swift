import Foundation
import ModelRuntime

/// Settings for `model-server serve`, from flags or the environment.
///
/// ```swift
/// let config = try ServerConfiguration(environment: ProcessInfo.processInfo.environment)
/// ```
public struct ServerConfiguration: Sendable {
    public var host = "0.0.0.0"
    public var port = 8080
    /// Folder with `model.json`, the artifact and labels.
    public var modelDirectory = URL(fileURLWithPath: "/models/model")
    /// After SIGTERM, the least time to keep serving (readiness 503) before the drain may end.
    public var readinessGraceSeconds: Double = 0
    /// After SIGTERM, the drain ends once no request has arrived for this long: the load
    /// balancers have seen readiness fail and send elsewhere (`DRAIN_QUIET_SECONDS`).
    public var drainQuietSeconds: Double = 2
    /// Skip the artifact's SHA-256 check at start-up (it costs ~50 ms per 20 MB).
    public var skipVerify = false
    /// After SIGTERM, the most time the whole drain may take; then the process exits anyway.
    public var drainTimeoutSeconds: Double = 30
    /// What one prediction may cost the runtime; see ``RequestLimits``.
    public var limits = RequestLimits()
    /// What one request body may cost; see ``BodyLimits``.
    public var bodyLimits = BodyLimits()
    /// Seconds a connection may wait for its next request head, from when it opened or its last
    /// response ended, before it is closed (bytes trickling in do not extend it).
    public var idleTimeoutSeconds: Double = 60
    /// API keys for the prediction and model routes; empty means no authentication.
    public var apiKeys: [String] = []
    /// Serve `/metrics` on this port instead of the main one (nil: on the main port).
    public var metricsPort: Int?
    /// The Open Inference Protocol's gRPC service on this port (`GRPC_PORT`, 8081; 0 turns it off).
    public var grpcPort: Int? = 8081
    /// Prediction requests in progress at once once their bodies are in (decoding, queued or
    /// running); more get 503 + `Retry-After` before their images are decoded
    /// (`MAX_CONCURRENT_REQUESTS`).
    public var maxConcurrentRequests = 64
    /// Of those, how many decode and queue at once, after their bodies have arrived; the others
    /// wait without holding a decoded image (`MAX_ACTIVE_REQUESTS`). Enough for a running batch,
    /// the next, and decoding.
    public var maxActiveRequests = 12
    /// Bytes of request bodies held at once, over all requests (`MAX_BUFFERED_BODY_BYTES`, 64 MiB),
    /// charged as they arrive; 503 when the next bytes do not fit.
    public var maxBufferedBodyBytes = 64 << 20
    /// Dynamic batching: rows per engine call, wait for company, queue bound, per-request timeout.
    public var batching = Batcher.Configuration()

    public init() {}

    /// A setting that cannot be used: the server refuses to start rather than guess.
    ///
    /// ```swift
    /// _ = try ServerConfiguration(environment: ["PORT": "http"])   // InvalidSetting: PORT must be a whole number ...
    /// ```
    public struct InvalidSetting: Error, CustomStringConvertible {
        public var description: String
    }

    /// Reads `HOST`, `PORT`, `MODEL_DIR`, `READINESS_GRACE_SECONDS`, `DRAIN_QUIET_SECONDS`,
    /// `DRAIN_TIMEOUT_SECONDS`, `SKIP_VERIFY`, the request limits (``RequestLimits``), the body
    /// limits (``BodyLimits``: `MAX_BODY_BYTES`, `BODY_TIMEOUT_SECONDS`, `MAX_JSON_VALUES`),
    /// `MAX_BUFFERED_BODY_BYTES`, `MAX_BATCH_SIZE`,
    /// `MAX_QUEUE_DELAY_MS`, `MAX_QUEUE_SIZE`, `MAX_CONCURRENT_REQUESTS`, `MAX_ACTIVE_REQUESTS`,
    /// `REQUEST_TIMEOUT_SECONDS`, `API_KEYS` (comma-separated), `API_KEYS_FILE` (one per line),
    /// `METRICS_PORT`, `GRPC_PORT`, `IDLE_TIMEOUT_SECONDS`. A value that does not parse, is out of range, or a
    /// key file that cannot be read or holds no key, throws ``InvalidSetting``.
    public init(environment env: [String: String]) throws {
        let settings = Settings(env)
        if let v = env["HOST"] { host = v }
        port = try settings.int("PORT", port, 0...65535)
        if let v = env["MODEL_DIR"] { modelDirectory = URL(fileURLWithPath: v) }
        readinessGraceSeconds = try settings.seconds("READINESS_GRACE_SECONDS", readinessGraceSeconds, allowZero: true)
        drainQuietSeconds = try settings.seconds("DRAIN_QUIET_SECONDS", drainQuietSeconds, allowZero: true)
        drainTimeoutSeconds = try settings.seconds("DRAIN_TIMEOUT_SECONDS", drainTimeoutSeconds)
        idleTimeoutSeconds = try settings.seconds("IDLE_TIMEOUT_SECONDS", idleTimeoutSeconds)
        if let v = env["SKIP_VERIFY"] { skipVerify = ["1", "true", "yes"].contains(v.lowercased()) }
        if let v = env["API_KEYS"] { apiKeys += v.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty } }
        if let path = env["API_KEYS_FILE"] { apiKeys += try Self.keys(fromFile: path) }
        if env["METRICS_PORT"] != nil { metricsPort = try settings.int("METRICS_PORT", 0, 1...65535) }
        let grpc = try settings.int("GRPC_PORT", grpcPort ?? 0, 0...65535)
        grpcPort = grpc == 0 ? nil : grpc
        limits = try RequestLimits(settings)
        bodyLimits = try BodyLimits(settings)
        batching.maxBatchSize = try settings.int("MAX_BATCH_SIZE", batching.maxBatchSize, 1...1024)
        batching.maxQueueDelay = .microseconds(
            Int(try settings.number("MAX_QUEUE_DELAY_MS", 2, allowZero: true, max: 10_000, unit: "milliseconds") * 1000)
        )
        batching.maxQueueSize = try settings.int("MAX_QUEUE_SIZE", batching.maxQueueSize, 1...1_000_000)
        // A request of a full batch must fit the queue, or every such request would be refused.
        guard batching.maxQueueSize >= batching.maxBatchSize else {
            throw InvalidSetting(description: "MAX_QUEUE_SIZE (\(batching.maxQueueSize)) must be at least MAX_BATCH_SIZE (\(batching.maxBatchSize))")
        }
        batching.timeout = .milliseconds(Int(try settings.seconds("REQUEST_TIMEOUT_SECONDS", 30) * 1000))
        maxConcurrentRequests = try settings.int("MAX_CONCURRENT_REQUESTS", maxConcurrentRequests, 1...100_000)
        maxActiveRequests = try settings.int("MAX_ACTIVE_REQUESTS", maxActiveRequests, 1...100_000)
        maxBufferedBodyBytes = try settings.int("MAX_BUFFERED_BODY_BYTES", maxBufferedBodyBytes, 1...(1 << 40))
        guard maxBufferedBodyBytes >= bodyLimits.maxBodyBytes else {
            throw InvalidSetting(
                description: "MAX_BUFFERED_BODY_BYTES (\(maxBufferedBodyBytes)) must be at least MAX_BODY_BYTES (\(bodyLimits.maxBodyBytes))"
            )
        }
    }

    /// Keys, one per line (`#` comments and blank lines skipped). A file named but unreadable or
    /// empty is an error: starting without authentication because a secret failed to mount would
    /// open every protected route.
    static func keys(fromFile path: String) throws -> [String] {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw InvalidSetting(description: "API_KEYS_FILE \(path) cannot be read; refusing to start without the API keys it should hold")
        }
        let keys = text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }.filter {
            !$0.isEmpty && !$0.hasPrefix("#")
        }
        guard !keys.isEmpty else { throw InvalidSetting(description: "API_KEYS_FILE \(path) holds no key; refusing to start without authentication") }
        return keys
    }
}

/// Environment values parsed strictly: a typo in a limit must not silently become the default.
struct Settings {
    let env: [String: String]
    init(_ env: [String: String]) { self.env = env }

    func int(_ name: String, _ fallback: Int, _ range: ClosedRange<Int>) throws -> Int {
        guard let text = env[name] else { return fallback }
        guard let v = Int(text.trimmingCharacters(in: .whitespaces)), range.contains(v) else {
            throw ServerConfiguration.InvalidSetting(
                description: "\(name)=\(text) is not a whole number in \(range.lowerBound)...\(range.upperBound)"
            )
        }
        return v
    }

    /// A positive (or, with `allowZero`, non-negative) finite number of at most a day.
    func seconds(_ name: String, _ fallback: Double, allowZero: Bool = false) throws -> Double {
        try number(name, fallback, allowZero: allowZero, max: 86_400, unit: "seconds")
    }

    func number(_ name: String, _ fallback: Double, allowZero: Bool, max: Double, unit: String) throws -> Double {
        guard let text = env[name] else { return fallback }
        guard let v = Double(text.trimmingCharacters(in: .whitespaces)), v.isFinite, allowZero ? v >= 0 : v > 0, v <= max else {
            throw ServerConfiguration.InvalidSetting(
                description: "\(name)=\(text) is not a \(allowZero ? "non-negative" : "positive") number of \(unit) (at most \(Int(max)))"
            )
        }
        return v
    }
}

/// This server's name and version, reported by `GET /version`, `GET /v2`, gRPC ServerMetadata and
/// the OpenAPI document: the one place the version is written (`k8s/validate.sh` checks that the
/// Dockerfile's label and the manifests' image tags say the same).
///
/// ```swift
/// print(ServerInfo.version)   // "0.1.0"
/// ```
public enum ServerInfo {
    public static let name = "swift-model-server"
    public static let version = "0.1.0"
}

extension RequestLimits {
    /// `MAX_ROWS_PER_REQUEST`, `MAX_IMAGE_PIXELS`, `MAX_REQUEST_PIXELS`, `MAX_IMAGE_ASPECT_RATIO`,
    /// `MAX_DECODE_BYTES`.
    init(_ settings: Settings) throws {
        self.init()
        maxRows = try settings.int("MAX_ROWS_PER_REQUEST", maxRows, 1...4096)
        maxImagePixels = try settings.int("MAX_IMAGE_PIXELS", maxImagePixels, 1...1_000_000_000)
        maxRequestPixels = try settings.int("MAX_REQUEST_PIXELS", maxRequestPixels, 1...10_000_000_000)
        maxAspectRatio = try settings.int("MAX_IMAGE_ASPECT_RATIO", maxAspectRatio, 1...100_000)
        maxDecodeBytes = try settings.int("MAX_DECODE_BYTES", maxDecodeBytes, (1 << 20)...(1 << 40))
    }
}
