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

    init(classifier: Classifier, batching: Batcher.Configuration, maxPixels: Int, metrics: ServerMetrics) {
        self.classifier = classifier
        self.metrics = metrics
        self.decoder = ImageDecoder(maxPixels: maxPixels)
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

    /// Decodes and preprocesses encoded images into one input tensor (rows = images).
    public func tensor(fromImages encoded: [[UInt8]]) async throws -> Tensor {
        guard !encoded.isEmpty else { throw APIError.badRequest("no images in the request") }
        let decoder = self.decoder, classifier = self.classifier
        return try await withCheckedThrowingContinuation { continuation in
            decodeQueue.addOperation {
                continuation.resume(with: Result {
                    let images = try encoded.enumerated().map { i, bytes in
                        do { return try decoder.decode(bytes, minShorterSide: classifier.preprocessor.resizeShorter) } catch let e as ImageError {
                            throw encoded.count > 1 ? Self.wrap(e, index: i) : e
                        }
                    }
                    return classifier.batch(images)
                })
            }
        }
    }

    static func wrap(_ e: ImageError, index: Int) -> Error {
        if case .tooLarge = e { return APIError(.contentTooLarge, "image \(index): \(e)") }
        return APIError.badRequest("image \(index): \(e)")
    }

    /// Runs the model on `input` through the batcher; returns the output tensors.
    public func run(_ input: Tensor) async throws -> [String: Tensor] {
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
