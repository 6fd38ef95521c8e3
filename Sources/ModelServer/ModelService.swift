import Foundation
import ImagePipeline
import Logging
import ModelEngine
import ModelStore
import ServiceLifecycle
import Synchronization

/// Loads the model in the background and owns readiness.
///
/// Ready means: the artifact verified, the model loaded, and a warm-up inference done. On
/// graceful shutdown readiness turns false first, while predictions are still served (each
/// response closing its connection) until requests stop arriving (``Drain``); the HTTP server
/// closes its listener and finishes in-flight requests after this service ends.
public final class ModelService: Service, Sendable {
    public let configuration: ServerConfiguration
    public let metrics: ServerMetrics
    let logger: Logger
    let drain: Drain
    private let state = Mutex<State>(.loading)

    enum State {
        case loading
        case ready(InferenceService)
        case failed(String)
        /// Shutting down: not ready, but requests are still served until the server drains.
        case draining(InferenceService)
        case stopping
    }

    public init(configuration: ServerConfiguration, logger: Logger, metrics: ServerMetrics = ServerMetrics(), drain: Drain = Drain()) {
        self.configuration = configuration
        self.logger = logger
        self.metrics = metrics
        self.drain = drain
    }

    /// The inference service when ready or draining, else nil.
    public var inference: InferenceService? {
        state.withLock {
            switch $0 {
            case .ready(let s), .draining(let s): s
            default: nil
            }
        }
    }

    public var classifier: Classifier? { inference?.classifier }

    /// True once the model is loaded and warm, until shutdown begins.
    public var isReady: Bool { state.withLock { if case .ready = $0 { true } else { false } } }

    /// The inference service, or a 503 saying why the model is not ready.
    func requireInference() throws -> InferenceService {
        guard let inference else { throw APIError(.serviceUnavailable, notReadyReason, headers: [.retryAfter: "1"]) }
        return inference
    }

    /// Like ``requireInference()``, and 404 unless `name` is the loaded model's.
    func requireInference(named name: String) throws -> InferenceService {
        let inference = try requireInference()
        guard name == inference.manifest.name else { throw APIError(.notFound, "unknown model '\(name)'; this server serves '\(inference.manifest.name)'") }
        return inference
    }

    /// Why the model is not ready, for error messages.
    public var notReadyReason: String {
        state.withLock {
            switch $0 {
            case .loading: "the model is still loading"
            case .failed(let why): "the model failed to load: \(why)"
            case .draining, .stopping: "the server is shutting down"
            case .ready: "ready"
            }
        }
    }

    public func run() async throws {
        let start = ContinuousClock.now
        do {
            let classifier = try await Self.load(configuration)
            let inference = InferenceService(classifier: classifier, batching: configuration.batching, limits: configuration.limits, metrics: metrics)
            state.withLock { $0 = .ready(inference) }
            let m = classifier.directory.manifest
            logger.info("model ready", metadata: [
                "model": "\(m.name)", "version": "\(m.version)", "sha256": "\(m.artifact.sha256)",
                "load_time": "\((ContinuousClock.now - start).formatted(.units(allowed: [.milliseconds])))",
            ])
        } catch {
            state.withLock { $0 = .failed("\(error)") }
            logger.error("model failed to load", metadata: ["error": "\(error)"])
            // Stay up: liveness holds, readiness reports the failure.
        }
        try? await gracefulShutdown()
        state.withLock {
            if case .ready(let s) = $0 { $0 = .draining(s) } else { $0 = .stopping }
        }
        drain.begin()
        logger.info("shutting down: readiness is now false; serving until requests stop arriving")
        // Leave the last part of the drain timeout to the requests still in flight.
        let timeout = max(configuration.drainTimeoutSeconds - 5, configuration.drainTimeoutSeconds / 2)
        await drain.waitUntilQuiet(quiet: configuration.drainQuietSeconds, minimum: configuration.readinessGraceSeconds, timeout: timeout)
        logger.info("drained: closing the listener and idle connections")
    }

    /// Verifies, loads and warms up off the cooperative thread pool.
    static func load(_ configuration: ServerConfiguration) async throws -> Classifier {
        try await withCheckedThrowingContinuation { continuation in
            Thread.detachNewThread {
                continuation.resume(with: Result {
                    let dir = try ModelDirectory(configuration.modelDirectory)
                    if !configuration.skipVerify { try dir.verify() }
                    let classifier = try Classifier(directory: dir)
                    // Warm-up: compile and run the largest batch first (it sizes the activation
                    // arena all plans share), then batch 1.
                    let blank = RGBImage(width: classifier.preprocessor.crop.width, height: classifier.preprocessor.crop.height,
                                         pixels: [UInt8](repeating: 128, count: classifier.preprocessor.elementCount))
                    _ = try classifier.logits(Array(repeating: blank, count: max(1, configuration.batching.maxBatchSize)))
                    _ = try classifier.logits([blank])
                    return classifier
                })
            }
        }
    }
}
