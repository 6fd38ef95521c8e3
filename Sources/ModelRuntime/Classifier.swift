import Foundation
import ImagePipeline
import ModelEngine
import ModelStore

/// A loaded image classifier: the engine that runs the model, its preprocessing and labels.
///
/// ```swift
/// let classifier = try Classifier(directory: ModelDirectory(url))   // the ONNX engine, on the artifact
/// let top5 = try classifier.classify([image], topK: 5)[0]
/// ```
public final class Classifier: Sendable {
    public struct Prediction: Codable, Sendable, Equatable {
        public var index: Int
        public var label: String
        public var score: Float
    }

    public let directory: ModelDirectory
    public let engine: any InferenceEngine
    public let preprocessor: Preprocessor
    public let inputName: String
    public let outputName: String

    /// The classifier of `directory`, run by the ONNX engine on its artifact.
    public convenience init(directory: ModelDirectory, threads: Int? = nil) throws {
        try self.init(directory: directory, engine: Model(contentsOf: directory.artifactURL, options: .init(threads: threads)))
    }

    /// The classifier of `directory` (its manifest's preprocessing, input and output, and labels),
    /// run by `engine`.
    public init(directory: ModelDirectory, engine: any InferenceEngine) throws {
        self.directory = directory
        self.engine = engine
        let m = directory.manifest
        guard let p = m.preprocessing, p.crop.count == 2, p.mean.count == 3, p.std.count == 3 else {
            throw ModelStoreError.invalidManifest("\(m.name): image preprocessing (resize_shorter, crop, mean, std) is required")
        }
        // The fields this pipeline implements one way only are checked, not parsed and ignored:
        // a model trained on BGR or NHWC input would otherwise load and answer wrongly.
        for (field, value, supported) in [
            ("preprocessing.color", p.color, "RGB"), ("preprocessing.layout", p.layout, "NCHW"),
            ("preprocessing.resize_filter", p.resizeFilter, "bilinear-antialias"),
            ("postprocessing", m.postprocessing ?? "softmax", "softmax"),
        ] where value != supported {
            throw ModelStoreError.invalidManifest("\(m.name): \(field) '\(value)' is not supported (only '\(supported)')")
        }
        preprocessor = Preprocessor(resizeShorter: p.resizeShorter, crop: (p.crop[0], p.crop[1]), mean: p.mean, std: p.std)
        inputName = m.input.name
        outputName = m.output.name
    }

    /// Preprocesses images into one NCHW batch tensor.
    public func batch(_ images: [RGBImage]) -> Tensor {
        // `image(i)` cannot throw here, so neither can `batch(count:_:)`.
        (try? batch(count: images.count) { images[$0] }) ?? Tensor(shape: [0], floats: [])
    }

    /// A batch of `count` images, each produced by `image(i)` and preprocessed into its row at
    /// once, so that only one full-size image is alive at a time.
    public func batch(count: Int, _ image: (Int) throws -> RGBImage) throws -> Tensor {
        let per = preprocessor.elementCount
        var data = [Float](repeating: 0, count: per * count)
        try data.withUnsafeMutableBufferPointer { buf in
            for i in 0..<count {
                preprocessor.write(try image(i), into: UnsafeMutableBufferPointer(rebasing: buf[(i * per)..<((i + 1) * per)]))
            }
        }
        return Tensor(shape: [count, 3, preprocessor.crop.height, preprocessor.crop.width], floats: data)
    }

    /// Raw logits, one row per image (runs the engine directly, without a batcher).
    public func logits(_ images: [RGBImage]) throws -> [[Float]] {
        guard let out = try engine.run([inputName: batch(images)])[outputName] else {
            throw ModelError.invalidInput("the model has no output '\(outputName)'")
        }
        return Self.rows(of: out, count: images.count)
    }

    /// The `topK` classes per image, by softmax probability.
    public func classify(_ images: [RGBImage], topK: Int) throws -> [[Prediction]] {
        try logits(images).map { top(Self.softmax($0), k: topK) }
    }

    /// The `topK` classes of each of the `rows` rows of `logits`: the one post-processing every
    /// protocol shares.
    public func predictions(from logits: Tensor, rows: Int, topK: Int) -> [[Prediction]] {
        Self.rows(of: logits, count: rows).map { top(Self.softmax($0), k: topK) }
    }

    /// `tensor`'s values split into `count` equal rows.
    public static func rows(of tensor: Tensor, count: Int) -> [[Float]] {
        let flat = tensor.floats
        let width = flat.count / max(count, 1)
        return (0..<count).map { Array(flat[($0 * width)..<(($0 + 1) * width)]) }
    }

    func top(_ probs: [Float], k: Int) -> [Prediction] {
        probs.indices.sorted { probs[$0] > probs[$1] }.prefix(max(0, k)).map {
            Prediction(index: $0, label: $0 < directory.labels.count ? directory.labels[$0] : "\($0)", score: probs[$0])
        }
    }

    static func softmax(_ x: [Float]) -> [Float] {
        let m = x.max() ?? 0
        let e = x.map { Foundation.exp($0 - m) }
        let s = e.reduce(0, +)
        return e.map { $0 / s }
    }
}
