import Foundation
import ImagePipeline
import ModelEngine
import ModelStore

/// What a prediction is, whatever carried the request: decoding images within the request
/// limits, the dynamic batcher, and the classifier's post-processing. The HTTP routes call it
/// and the gRPC service both call it; it knows nothing of either, and throws ``PredictionError``,
/// `ImageError` or `Batcher.BatcherError`, which the transport maps to its own statuses.
///
/// ```swift
/// let predictor = Predictor(classifier: classifier, batching: .init(), limits: .init())
/// let top5 = try await predictor.classify(images: [jpegBytes], topK: 5)   // [[Prediction]], one list per image
/// ```
public final class Predictor: Sendable {
    public let classifier: Classifier
    public let batcher: Batcher
    public let limits: RequestLimits
    let metrics: PredictorMetrics
    let decoder: ImageDecoder
    /// Decoding runs off the event loops, at most one job per core at a time: more would only
    /// compete with inference for the same cores.
    private let decodeQueue: OperationQueue = {
        let q = OperationQueue()
        q.name = "image-decode"
        q.maxConcurrentOperationCount = Threads.recommended()
        return q
    }()

    public init(classifier: Classifier, batching: Batcher.Configuration, limits: RequestLimits, metrics: PredictorMetrics = .init()) {
        self.classifier = classifier
        self.metrics = metrics
        self.limits = limits
        self.decoder = ImageDecoder(maxPixels: limits.maxImagePixels, maxAspectRatio: limits.maxAspectRatio, maxDecodeBytes: limits.maxDecodeBytes)
        batcher = Batcher(engine: classifier.engine, inputName: classifier.inputName, configuration: batching, onBatch: metrics.batch)
    }

    /// The batcher's thread keeps the batcher alive; end it with the predictor that owns it.
    deinit { batcher.stop() }

    public var manifest: ModelManifest { classifier.directory.manifest }

    /// Runs `work` on the decode pool, at most one job per core. Parsing a large JSON body and
    /// decoding images are a request's CPU- and memory-heavy steps: running them here bounds
    /// how many happen at once (and keeps them off the threads that serve requests). With
    /// `releasingMemory`, the allocator hands its free memory back to the system afterwards: a
    /// parsed JSON body is many small allocations, which glibc otherwise keeps in the pool
    /// thread's arena (`releasingMemory` is evaluated after `work`, which may be what decides it).
    /// While `work` is queued or running, the batcher counts it as company worth waiting for.
    public func offload<T: Sendable>(
        releasingMemory: @autoclosure @escaping @Sendable () -> Bool = false, _ work: @escaping @Sendable () throws -> T
    ) async throws -> T {
        batcher.preparing()
        return try await withCheckedThrowingContinuation { continuation in
            decodeQueue.addOperation { [batcher] in
                let result = Result { try work() }
                batcher.arrived()
                if releasingMemory() { Allocator.releaseFreeMemory() }
                continuation.resume(with: result)
            }
        }
    }

    /// Decodes and preprocesses encoded images into one input tensor (rows = images). Every
    /// image's header is read first, so that the count, each image's size and shape and their
    /// total pixels are within the limits before a pixel is decoded; then each image is decoded
    /// and written into the tensor in turn, so one decoded image is held at a time.
    public func tensor(fromImages encoded: [[UInt8]]) async throws -> Tensor {
        try limits.checkRows(encoded.count, "images")
        let decoder = self.decoder
        let classifier = self.classifier
        let budget = limits.maxRequestPixels
        return try await offload {
            var total = 0
            for (i, bytes) in encoded.enumerated() {
                let header = try Self.labelled(i, of: encoded.count) { try decoder.header(of: bytes) }
                total += header.decodeWork  // each at most maxImagePixels × 8: no overflow
                guard total <= budget else {
                    throw PredictionError.tooLarge(
                        "the request's images hold more than \(budget) pixels in all, weighted by decoding work (MAX_REQUEST_PIXELS)"
                    )
                }
            }
            return try classifier.batch(count: encoded.count) { i in
                try Self.labelled(i, of: encoded.count) { try decoder.decode(encoded[i], minShorterSide: classifier.preprocessor.resizeShorter) }
            }
        }
    }

    /// Names the image an error is about when the request holds several.
    static func labelled<T>(_ index: Int, of count: Int, _ work: () throws -> T) throws -> T {
        do { return try work() } catch let e as ImageError where count > 1 {
            if e.exceedsLimit { throw PredictionError.tooLarge("image \(index): \(e)") }
            throw PredictionError.invalid("image \(index): \(e)")
        }
    }

    /// The model's output for `input` (rows = its first dimension), through the batcher. Inputs
    /// of more than `maxBatchSize` rows run as several batches: the engine then never plans (and
    /// keeps an arena for) a batch larger than the one warmed up at start.
    public func logits(_ input: Tensor) async throws -> Tensor {
        let rows = input.shape.first ?? 1
        try limits.checkRows(rows, "rows")
        let step = batcher.configuration.maxBatchSize
        guard rows > step else { return try await runBatch(input) }
        var parts: [Tensor] = []
        for start in stride(from: 0, to: rows, by: step) {
            parts.append(try await runBatch(Batcher.rows(of: input, from: start, count: min(step, rows - start), total: rows)))
        }
        return try Batcher.concatenate(parts)
    }

    private func runBatch(_ input: Tensor) async throws -> Tensor {
        let rows = input.shape.first ?? 1
        metrics.pending(rows)
        defer { metrics.pending(-rows) }
        let (outputs, timing) = try await batcher.infer(input)
        metrics.timing(timing.queue, timing.compute)
        guard let output = outputs[classifier.outputName] else { throw ModelError.invalidInput("the model has no output '\(classifier.outputName)'") }
        return output
    }

    /// The input tensor for `input`: images decoded and preprocessed, a tensor as it is.
    public func tensor(for input: PredictionInput) async throws -> Tensor {
        switch input {
        case .images(let images): try await tensor(fromImages: images)
        case .tensor(let tensor): tensor
        }
    }

    /// Top-k predictions per image.
    public func classify(images encoded: [[UInt8]], topK: Int) async throws -> [[Classifier.Prediction]] {
        let input = try await tensor(fromImages: encoded)
        return classifier.predictions(from: try await logits(input), rows: input.shape[0], topK: topK)
    }
}

/// What a request asks to predict on: encoded images, or a tensor it sent (rows first).
public enum PredictionInput: Sendable {
    case images([[UInt8]])
    case tensor(Tensor)
}

/// What a ``Predictor`` reports, for the server's metrics (which it creates and injects here).
///
/// ```swift
/// let metrics = PredictorMetrics(batch: { rows in batchSizes.record(rows) })   // the rest stay no-ops
/// let predictor = Predictor(classifier: classifier, batching: .init(), limits: .init(), metrics: metrics)
/// ```
public struct PredictorMetrics: Sendable {
    /// Rows in each engine call.
    public var batch: @Sendable (Int) -> Void
    /// Rows entering (positive) or leaving (negative) the batcher's queue.
    public var pending: @Sendable (Int) -> Void
    /// Per batch a request joined: time queued, time computing.
    public var timing: @Sendable (Duration, Duration) -> Void

    public init(
        batch: @escaping @Sendable (Int) -> Void = { _ in },
        pending: @escaping @Sendable (Int) -> Void = { _ in },
        timing: @escaping @Sendable (Duration, Duration) -> Void = { _, _ in }
    ) {
        self.batch = batch
        self.pending = pending
        self.timing = timing
    }
}
