import Foundation
import HTTPTypes
import Hummingbird
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
struct V2Input {
    let spec: V2InferRequest.Input
    let binary: ArraySlice<UInt8>
    let model: ModelManifest.TensorInfo
    let limits: RequestLimits

    func decode() throws -> PredictionInput {
        guard spec.name == model.name else { throw PredictionError.invalid("unknown input '\(spec.name)'; the model's input is '\(model.name)'") }
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
        guard let size = V2Tensor.numericTypes[datatype] else { throw PredictionError.invalid("unsupported datatype '\(datatype)'") }
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

/// The outputs a V2 request asks for and the response that answers it.
enum V2Output {
    struct Request: Sendable {
        var classification: Int?
        var binary: Bool
    }

    /// The `outputs` list (default: the model's output, as JSON). Each output may be named once:
    /// a list repeating it 100,000 times would otherwise multiply the response.
    /// `classes` (the output's last dimension, when the manifest fixes it) bounds the
    /// classification parameter before the model runs.
    static func requests(_ req: V2InferRequest, output: String, classes: Int?) throws -> [Request] {
        let binaryAll = req.parameters?.binary_data_output ?? false
        // No list, or an empty one: the model's output, as Triton answers.
        guard let specs = req.outputs, !specs.isEmpty else { return [Request(classification: nil, binary: binaryAll)] }
        guard specs.count <= 1 else { throw PredictionError.invalid("\"outputs\" must list the model's output '\(output)' at most once") }
        return try specs.map { spec in
            guard spec.name == output else { throw PredictionError.invalid("unknown output '\(spec.name)'; the model's output is '\(output)'") }
            if let k = spec.parameters?.classification, !(k >= 1 && k <= (classes ?? Int.max)) {
                throw PredictionError.invalid("classification must be between 1 and \(classes ?? Int.max)")
            }
            return Request(classification: spec.parameters?.classification, binary: spec.parameters?.binary_data ?? binaryAll)
        }
    }

    /// The answer to `parsed`: JSON, followed by the binary outputs when any were asked for.
    static func response(_ parsed: OpenInferenceRoutes.Parsed, logits: Tensor, rows: Int, _ predictor: Predictor) throws -> V2Answer {
        let m = predictor.manifest
        var outputs: [V2InferResponse.Output] = []
        var blobs: [UInt8] = []
        let classes = logits.count / max(rows, 1)
        for request in parsed.outputs {
            var out = V2InferResponse.Output(name: m.output.name, datatype: "FP32", shape: [rows, classes])
            if let k = request.classification {
                guard (1...classes).contains(k) else { throw PredictionError.invalid("classification must be between 1 and \(classes)") }
                let labels = predictor.classifier.predictions(from: logits, rows: rows, topK: k).joined()
                    .map { String(format: "%f:%d:%@", $0.score, $0.index, $0.label) }
                out.datatype = "BYTES"
                out.shape = [rows, k]
                if request.binary {
                    let bytes = V2Tensor.encodeBytes(labels.map { Array($0.utf8) })
                    out.parameters = .init(binary_data_size: bytes.count)
                    blobs += bytes
                } else {
                    out.data = .strings(labels)
                }
            } else if request.binary {
                out.parameters = .init(binary_data_size: logits.bytes.count)
                blobs += logits.bytes
            } else {
                out.data = .floats(logits.floats)
            }
            outputs.append(out)
        }
        return V2Answer(json: V2InferResponse(model_name: m.name, model_version: m.version, id: parsed.id, outputs: outputs), binary: blobs)
    }
}

/// An inference response: JSON alone, or (binary tensor extension) JSON followed by the
/// outputs' bytes, its length in `Inference-Header-Content-Length`.
struct V2Answer: ResponseGenerator {
    var json: V2InferResponse
    var binary: [UInt8]

    func response(from request: Request, context: some RequestContext) throws -> Response {
        let encoded = try ServerContext.encoder.encode(json)
        guard !binary.isEmpty else {
            return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: encoded)))
        }
        var headers: HTTPFields = [.contentType: "application/octet-stream"]
        headers[HTTPField.Name("Inference-Header-Content-Length")!] = "\(encoded.count)"
        var buffer = ByteBuffer()
        buffer.writeBytes(encoded)
        buffer.writeBytes(binary)
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: buffer))
    }
}
