import ModelEngine
import ModelRuntime

/// An inference request checked against the model: its one input (a tensor, or images still to
/// decode) and what the answer should hold. Both transports make one — REST from JSON and the
/// bytes after it, gRPC from protobuf and `raw_input_contents` — and answer it the same way.
///
/// ```swift
/// let prepared = try V2Prepared(request, binary: rawBytes[...], predictor: predictor)
/// let result = try await prepared.run(on: predictor)   // V2Result: the response and its binary outputs
/// ```
public struct V2Prepared: Sendable {
    public var input: PredictionInput
    public var id: String?
    public var outputs: [V2Output.Request]

    /// The outputs are checked first (cheap), then the one input is decoded against the model's
    /// shape and the request limits. `binary` holds the bytes `binary_data_size` refers to.
    public init(_ request: V2InferRequest, binary: ArraySlice<UInt8>, predictor: Predictor) throws {
        let manifest = predictor.manifest
        guard request.inputs.count == 1 else {
            throw PredictionError.invalid("\"inputs\" must list exactly one tensor, '\(manifest.input.name)'")
        }
        outputs = try V2Output.requests(request, output: manifest.output.name, classes: manifest.output.shape.last.flatMap { $0 > 0 ? $0 : nil })
        input = try V2Input(spec: request.inputs[0], binary: binary, model: manifest.input, limits: predictor.limits).decode()
        id = request.id
    }

    /// Decodes the images (if any), runs the model through the batcher, and builds the answer.
    public func run(on predictor: Predictor) async throws -> V2Result {
        let tensor = try await predictor.tensor(for: input)
        let logits = try await predictor.logits(tensor)
        return try V2Output.response(self, logits: logits, rows: tensor.shape[0], predictor)
    }
}

/// The answer to an inference request: the response, and the bytes of the outputs asked for as
/// binary (each output's `parameters.binary_data_size` says how many are its), in order.
///
/// ```swift
/// let result = try await prepared.run(on: predictor)
/// let firstOutputBytes = result.binary.prefix(result.response.outputs[0].parameters?.binary_data_size ?? 0)
/// ```
public struct V2Result: Sendable {
    public var response: V2InferResponse
    public var binary: [UInt8]
}
