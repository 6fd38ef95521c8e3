import Foundation
import ModelEngine
import ModelRuntime
import ModelStore

/// One Open Inference Protocol input tensor, checked against the model before anything is
/// allocated for it: the shape's product overflow-checked, its rows within `limits.maxRows`, its
/// inner dimensions the model's, `binary_data_size` within the bytes sent.
///
/// ```swift
/// let input = try V2Input(spec: request.inputs[0], binary: body[jsonLength...], model: manifest.input, limits: RequestLimits()).decode()
/// ```
public struct V2Input {
    public let spec: V2InferRequest.Input
    public let binary: ArraySlice<UInt8>
    public let model: ModelManifest.TensorInfo
    public let limits: RequestLimits

    public init(spec: V2InferRequest.Input, binary: ArraySlice<UInt8>, model: ModelManifest.TensorInfo, limits: RequestLimits) {
        (self.spec, self.binary, self.model, self.limits) = (spec, binary, model, limits)
    }

    public func decode() throws -> PredictionInput {
        guard spec.name == model.name else { throw PredictionError.invalid("unknown input '\(clipped(spec.name))'; the model's input is '\(model.name)'") }
        let shape = spec.shape
        guard let count = V2Tensor.elementCount(shape) else {
            throw PredictionError.invalid("inputs[0].shape must be a list of non-negative integers whose product fits 64 bits")
        }
        let datatype = spec.datatype
        let blob = try binaryData()
        if datatype == "BYTES" {
            try limits.checkRows(count, "images")
            let images: [[UInt8]]
            if let blob {
                images = try V2Tensor.byteElements(blob, maxElements: count)
            } else {
                guard case .strings(let strings) = try data() else { throw PredictionError.invalid("inputs[0].data must hold base64 strings for BYTES") }
                guard strings.count == count else { throw PredictionError.invalid("shape \(shape) needs \(count) images, got \(strings.count)") }
                images = try strings.enumerated().map { try Base64Image.decode($1, path: "inputs[0].data[\($0)]") }
            }
            guard images.count == count else { throw PredictionError.invalid("shape \(shape) needs \(count) images, got \(images.count)") }
            return .images(images)
        }
        guard let size = V2Tensor.numericTypes[datatype] else { throw PredictionError.invalid("unsupported datatype '\(clipped(datatype))'") }
        let want = Array(model.shape.dropFirst())
        guard shape.count == model.shape.count, Array(shape.dropFirst()) == want, shape[0] > 0 else {
            throw PredictionError.invalid("inputs[0].shape \(shape) does not fit the model's [-1, \(want.map(String.init).joined(separator: ", "))]")
        }
        try limits.checkRows(shape[0], "rows")
        let values: [Double]
        if let blob {
            guard blob.count == count * size else {
                throw PredictionError.invalid("shape \(shape) of \(datatype) needs \(count * size) bytes of binary data, got \(blob.count)")
            }
            values = try V2Tensor.numbers(blob, datatype: datatype)
        } else {
            guard case .numbers(let numbers) = try data() else { throw PredictionError.invalid("inputs[0].data must hold numbers for \(datatype)") }
            values = numbers
        }
        guard values.count == count else { throw PredictionError.invalid("shape \(shape) needs \(count) elements, got \(values.count)") }
        guard values.allSatisfy(\.isFinite) else { throw PredictionError.invalid("inputs[0] contains NaN or infinite values") }
        return .tensor(Tensor(shape: shape, floats: values.map(Float.init)))
    }

    private func data() throws -> V2Data {
        guard let data = spec.data else { throw PredictionError.invalid("inputs[0] has no data (and no binary_data_size)") }
        return data
    }

    /// The input's bytes in the binary extension, when `parameters.binary_data_size` is given.
    private func binaryData() throws -> ArraySlice<UInt8>? {
        guard let size = spec.parameters?.binary_data_size else { return nil }
        guard size >= 0, size <= binary.count else {
            throw PredictionError.invalid("binary_data_size \(size) must be a whole number of bytes within the \(binary.count) sent after the JSON")
        }
        return binary.prefix(size)
    }
}

