import Foundation
import ImagePipeline
import Logging
import ModelEngine
import ModelRuntime
import ModelStore
import ServiceLifecycle
import Synchronization

/// Hosts the model for the server: loads it in the background, owns readiness, and hands the
/// routes its ``Predictor`` while it is ready or draining.
///
/// Ready means: the artifact verified, the model loaded, and a warm-up inference done. On
/// graceful shutdown readiness turns false first, while predictions are still served (each
/// response closing its connection) until requests stop arriving (``Drain``); the HTTP server
/// closes its listener and finishes in-flight requests after this service ends.
///
/// ```swift
/// let host = ModelHost(configuration: config, logger: logger)   // ModelServer makes one
/// // run it in a ServiceGroup; routes then ask it for the predictor:
/// let predictor = try host.requirePredictor(named: "efficientnet-lite0")   // notReady / unknownModel otherwise
/// ```
public final class ModelHost: Service, Sendable {
    public let configuration: ServerConfiguration
    public let metrics: ServerMetrics
    let logger: Logger
    let drain: Drain
    let engine: EngineLoader
    private let state = Mutex<State>(.loading)

    /// Makes the engine for a verified model directory: the ONNX engine on its artifact unless a
    /// caller (an in-process test) brings its own.
    public typealias EngineLoader = @Sendable (ModelDirectory) throws -> any InferenceEngine
    public static let onnxEngine: EngineLoader = { try Model(contentsOf: $0.artifactURL) }

    enum State {
        case loading
        case ready(Predictor)
        case failed(String)
        /// Shutting down: not ready, but requests are still served until the server drains.
        case draining(Predictor)
        case stopping
    }

    public init(
        configuration: ServerConfiguration,
        logger: Logger,
        metrics: ServerMetrics = ServerMetrics(),
        drain: Drain = Drain(),
        engine: @escaping EngineLoader = ModelHost.onnxEngine
    ) {
        self.configuration = configuration
        self.engine = engine
        self.logger = logger
        self.metrics = metrics
        self.drain = drain
    }

    /// The predictor when ready or draining, else nil.
    public var predictor: Predictor? {
        state.withLock {
            switch $0 {
            case .ready(let s), .draining(let s): s
            default: nil
            }
        }
    }

    public var classifier: Classifier? { predictor?.classifier }

    /// True once the model is loaded and warm, until shutdown begins.
    public var isReady: Bool { state.withLock { if case .ready = $0 { true } else { false } } }

    /// True once graceful shutdown has begun (draining, then stopping).
    public var isShuttingDown: Bool {
        state.withLock {
            switch $0 {
            case .draining, .stopping: true
            default: false
            }
        }
    }

    /// The predictor, or ``PredictionError/notReady(_:)`` saying why there is none.
    public func requirePredictor() throws -> Predictor {
        guard let predictor else { throw PredictionError.notReady(notReadyReason) }
        return predictor
    }

    /// Like ``requirePredictor()``, and ``PredictionError/unknownModel(_:)`` unless `name` is
    /// the loaded model's.
    public func requirePredictor(named name: String) throws -> Predictor {
        let predictor = try requirePredictor()
        guard name == predictor.manifest.name else {
            throw PredictionError.unknownModel("unknown model '\(clipped(name))'; this server serves '\(predictor.manifest.name)'")
        }
        return predictor
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
        await load()
        do {
            try await gracefulShutdown()
        } catch {
            // Cancelled, not shut down gracefully (another service failed, e.g. its port was
            // taken): there is nothing to drain for.
            state.withLock { $0 = .stopping }
            return
        }
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

    /// Verifies, loads and warms up the model; then the host is ready (or has failed, and says
    /// why). `run()` does this first; harnesses that need no lifecycle (the fuzzer) call it alone.
    public func load() async {
        let start = ContinuousClock.now
        do {
            let classifier = try await Self.loadClassifier(configuration, engine: engine)
            let predictor = Predictor(
                classifier: classifier,
                batching: configuration.batching,
                limits: configuration.limits,
                metrics: metrics.predictor
            )
            let m = classifier.directory.manifest
            metrics.modelInfo(name: m.name, version: m.version, sha256: m.artifact.sha256)
            state.withLock { $0 = .ready(predictor) }
            logger.info(
                "model ready",
                metadata: [
                    "model": "\(m.name)", "version": "\(m.version)", "sha256": "\(m.artifact.sha256)",
                    "load_time": "\((ContinuousClock.now - start).formatted(.units(allowed: [.milliseconds])))",
                ]
            )
        } catch {
            state.withLock { $0 = .failed("\(error)") }
            logger.error("model failed to load", metadata: ["error": "\(error)"])
            // Stay up: liveness holds, readiness reports the failure.
        }
    }

    /// Verifies, loads and warms up off the cooperative thread pool.
    static func loadClassifier(_ configuration: ServerConfiguration, engine: @escaping EngineLoader) async throws -> Classifier {
        try await withCheckedThrowingContinuation { continuation in
            Thread.detachNewThread {
                continuation.resume(
                    with: Result {
                        let dir = try ModelDirectory(configuration.modelDirectory)
                        if !configuration.skipVerify { try dir.verify() }
                        let classifier = try Classifier(directory: dir, engine: engine(dir))
                        // Warm-up: compile and run the largest batch first (it sizes the activation
                        // arena all plans share), then batch 1.
                        let blank = RGBImage(
                            width: classifier.preprocessor.crop.width,
                            height: classifier.preprocessor.crop.height,
                            pixels: [UInt8](repeating: 128, count: classifier.preprocessor.elementCount)
                        )
                        _ = try classifier.logits(Array(repeating: blank, count: max(1, configuration.batching.maxBatchSize)))
                        _ = try classifier.logits([blank])
                        return classifier
                    }
                )
            }
        }
    }
}
