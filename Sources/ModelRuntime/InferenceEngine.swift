import ModelEngine

/// What computes a batch: named input tensors in, named output tensors out. The ONNX engine's
/// ``ModelEngine/Model`` is the one the server loads; anything else that maps inputs to outputs
/// (a test's stand-in, another engine) can take its place under the same ``Predictor``.
///
/// ```swift
/// struct ChannelMeans: InferenceEngine {   // logits = each channel's mean
///     func run(_ inputs: [String: Tensor]) throws -> [String: Tensor] { ... }
/// }
/// let classifier = try Classifier(directory: dir, engine: ChannelMeans())
/// ```
public protocol InferenceEngine: Sendable {
    /// Runs one batch; the batcher calls it from one thread at a time.
    func run(_ inputs: [String: Tensor]) throws -> [String: Tensor]
}

extension Model: InferenceEngine {}
