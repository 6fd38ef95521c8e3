import Foundation
import ImagePipeline
import ModelEngine
import ModelStore

/// What the routes call: image decoding off the event loops, the dynamic batcher, and metrics.
///
/// ```swift
/// let predictions = try await inference.classify(images: [jpegBytes], topK: 5)
/// ```
public final class InferenceService: Sendable {
    public let classifier: Classifier
    public let batcher: Batcher
    let metrics: ServerMetrics
    let decoder: ImageDecoder
    /// Decoding runs off the event loops, at most one image batch per core at a time: more
    /// would only compete with inference for the same cores.
    private let decodeQueue: OperationQueue = {
        let q = OperationQueue()
        q.name = "image-decode"
        q.maxConcurrentOperationCount = Threads.recommended()
        return q
    }()

    let limits: RequestLimits

    init(classifier: Classifier, batching: Batcher.Configuration, limits: RequestLimits, metrics: ServerMetrics) {
        self.classifier = classifier
        self.metrics = metrics
        self.limits = limits
        self.decoder = ImageDecoder(maxPixels: limits.maxImagePixels, maxAspectRatio: limits.maxAspectRatio)
        batcher = Batcher(model: classifier.model, inputName: classifier.inputName, configuration: batching)
        let m = metrics
        batcher.onBatch = { rows in
            m.batchSize.record(Double(rows))
            m.executionCount.increment()
            m.inferenceCount.increment(by: Int64(rows))
        }
        let manifest = classifier.directory.manifest
        metrics.modelInfo(name: manifest.name, version: manifest.version, sha256: manifest.artifact.sha256)
    }

    /// The batcher's thread keeps the batcher alive; end it with the service that owns it.
    deinit { batcher.stop() }

    public var manifest: ModelManifest { classifier.directory.manifest }

    /// Runs `work` on the decode pool, at most one job per core. Parsing a large JSON body and
    /// decoding images are a request's CPU- and memory-heavy steps: running them here bounds
    /// how many happen at once (and keeps them off the threads that serve HTTP).
    public func offload<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            decodeQueue.addOperation { continuation.resume(with: Result { try work() }) }
        }
    }

    /// Refuses more than `maxRows` rows (images, instances) before any of them is processed.
    public func checkRows(_ rows: Int, _ what: String) throws {
        guard rows > 0 else { throw PredictionError.invalid("the request holds no \(what)") }
        guard rows <= limits.maxRows else {
            throw PredictionError.tooLarge("the request holds \(rows) \(what), more than the limit of \(limits.maxRows) (MAX_ROWS_PER_REQUEST)")
        }
    }

    /// Decodes and preprocesses encoded images into one input tensor (rows = images). Every
    /// image's header is read first, so that the count, each image's size and shape and their
    /// total pixels are within the limits before a pixel is decoded; then each image is decoded
    /// and written into the tensor in turn, so one decoded image is held at a time.
    public func tensor(fromImages encoded: [[UInt8]]) async throws -> Tensor {
        try checkRows(encoded.count, "images")
        let decoder = self.decoder, classifier = self.classifier, budget = limits.maxRequestPixels
        return try await offload {
            var total = 0
            for (i, bytes) in encoded.enumerated() {
                let size = try Self.labelled(i, of: encoded.count) { try decoder.size(of: bytes) }
                total += size.width * size.height  // each at most maxImagePixels: no overflow
                guard total <= budget else {
                    throw PredictionError.tooLarge("the request's images hold more than \(budget) pixels in all (MAX_REQUEST_PIXELS)")
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
            if case .tooLarge = e { throw PredictionError.tooLarge("image \(index): \(e)") }
            throw PredictionError.invalid("image \(index): \(e)")
        }
    }

    /// Runs the model on `input` through the batcher; returns the output tensors. Inputs of more
    /// than `maxBatchSize` rows run as several batches: the engine then never plans (and keeps
    /// an arena for) a batch larger than the one warmed up at start.
    public func run(_ input: Tensor) async throws -> [String: Tensor] {
        let rows = input.shape.first ?? 1
        try checkRows(rows, "rows")
        let step = batcher.configuration.maxBatchSize
        guard rows > step else { return try await runBatch(input) }
        var parts: [[String: Tensor]] = []
        for start in stride(from: 0, to: rows, by: step) {
            let count = min(step, rows - start)
            parts.append(try await runBatch(Batcher.rows(of: input, from: start, count: count, total: rows)))
        }
        var outputs: [String: Tensor] = [:]
        for name in parts[0].keys { outputs[name] = try Batcher.concatenate(parts.map { $0[name]! }) }
        return outputs
    }

    private func runBatch(_ input: Tensor) async throws -> [String: Tensor] {
        metrics.pending.increment(by: Double(input.shape.first ?? 1))
        defer { metrics.pending.decrement(by: Double(input.shape.first ?? 1)) }
        let (outputs, timing) = try await batcher.infer(input)
        metrics.queueDuration.record(timing.queue)
        metrics.computeDuration.record(timing.compute)
        return outputs
    }

    /// Top-k predictions per image.
    public func classify(images encoded: [[UInt8]], topK: Int) async throws -> [[Classifier.Prediction]] {
        let input = try await tensor(fromImages: encoded)
        return try await predictions(for: input, topK: topK)
    }

    public func predictions(for input: Tensor, topK: Int) async throws -> [[Classifier.Prediction]] {
        let logits = try await run(input)[classifier.outputName]!
        let rows = input.shape.first ?? 1
        let classes = logits.count / max(rows, 1)
        let flat = logits.floats
        return (0..<rows).map { r in classifier.top(Classifier.softmax(Array(flat[(r * classes)..<((r + 1) * classes)])), k: topK) }
    }
}
