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
/// let input = try V2Input(spec: json["inputs"][0], binary: body[jsonLength...], model: manifest.input, limits: RequestLimits()).decode()
/// ```
struct V2Input {
    let spec: [String: Any]
    let binary: ArraySlice<UInt8>
    let model: ModelManifest.TensorInfo
    let limits: RequestLimits

    func decode() throws -> PredictionInput {
        guard let name = spec["name"] as? String else { throw PredictionError.invalid("inputs[0] has no name") }
        guard name == model.name else { throw PredictionError.invalid("unknown input '\(name)'; the model's input is '\(model.name)'") }
        guard let shape = spec["shape"] as? [Int], let count = V2Tensor.elementCount(shape) else {
            throw PredictionError.invalid("inputs[0].shape must be a list of non-negative integers whose product fits 64 bits")
        }
        guard let datatype = spec["datatype"] as? String else { throw PredictionError.invalid("inputs[0] has no datatype") }
        let blob = try binaryData()
        if datatype == "BYTES" {
            try limits.checkRows(count, "images")
            let images: [[UInt8]]
            if let blob {
                images = try V2Tensor.byteElements(blob, maxElements: count)
            } else {
                guard let data = spec["data"] else { throw PredictionError.invalid("inputs[0] has no data") }
                let strings = try V2Tensor.strings(data, path: "inputs[0].data")
                guard strings.count == count else { throw PredictionError.invalid("shape \(shape) needs \(count) images, got \(strings.count)") }
                images = try strings.enumerated().map { try Base64Image.decode($1, path: "inputs[0].data[\($0)]") }
            }
            guard images.count == count else { throw PredictionError.invalid("shape \(shape) needs \(count) images, got \(images.count)") }
            return .images(images)
        }
        guard V2Tensor.numericTypes[datatype] != nil else { throw PredictionError.invalid("unsupported datatype '\(datatype)'") }
        let want = Array(model.shape.dropFirst())
        guard shape.count == model.shape.count, Array(shape.dropFirst()) == want, shape[0] > 0 else {
            throw PredictionError.invalid("inputs[0].shape \(shape) does not fit the model's [-1, \(want.map(String.init).joined(separator: ", "))]")
        }
        try limits.checkRows(shape[0], "rows")
        let values: [Double]
        if let blob {
            let size = V2Tensor.numericTypes[datatype]!
            guard blob.count == count * size else {
                throw PredictionError.invalid("shape \(shape) of \(datatype) needs \(count * size) bytes of binary data, got \(blob.count)")
            }
            values = try V2Tensor.numbers(blob, datatype: datatype)
        } else {
            guard let data = spec["data"] else { throw PredictionError.invalid("inputs[0] has no data") }
            values = try V2Tensor.flatten(data, path: "inputs[0].data")
        }
        guard values.count == count else { throw PredictionError.invalid("shape \(shape) needs \(count) elements, got \(values.count)") }
        guard values.allSatisfy(\.isFinite) else { throw PredictionError.invalid("inputs[0] contains NaN or infinite values") }
        return .tensor(Tensor(shape: shape, floats: values.map(Float.init)))
    }

    /// The input's bytes in the binary extension, when `parameters.binary_data_size` is given.
    private func binaryData() throws -> ArraySlice<UInt8>? {
        guard let parameters = spec["parameters"] as? [String: Any], let value = parameters["binary_data_size"] else { return nil }
        guard let size = value as? Int, size >= 0, size <= binary.count else {
            throw PredictionError.invalid("binary_data_size \(value) must be a whole number of bytes within the \(binary.count) sent after the JSON")
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
    static func requests(_ req: [String: Any], output: String, classes: Int?) throws -> [Request] {
        let binaryAll = ((req["parameters"] as? [String: Any])?["binary_data_output"] as? Bool) ?? false
        // No list, or an empty one: the model's output, as Triton answers.
        guard let list = req["outputs"], (list as? [Any])?.isEmpty != true else { return [Request(classification: nil, binary: binaryAll)] }
        guard let specs = list as? [[String: Any]], specs.count <= 1 else {
            throw PredictionError.invalid("\"outputs\" must list the model's output '\(output)' at most once")
        }
        return try specs.map { spec in
            guard let name = spec["name"] as? String, name == output else {
                throw PredictionError.invalid("unknown output '\(spec["name"] ?? "")'; the model's output is '\(output)'")
            }
            let params = spec["parameters"] as? [String: Any] ?? [:]
            var classification: Int?
            if let k = params["classification"] {
                guard let k = k as? Int else { throw PredictionError.invalid("classification must be a whole number") }
                guard k >= 1, k <= (classes ?? Int.max) else {
                    throw PredictionError.invalid("classification must be between 1 and \(classes ?? Int.max)")
                }
                classification = k
            }
            return Request(classification: classification, binary: (params["binary_data"] as? Bool) ?? binaryAll)
        }
    }

    static func response(_ parsed: OpenInferenceRoutes.Parsed, logits: Tensor, rows: Int, _ predictor: Predictor) throws -> Response {
        let m = predictor.manifest
        var outputs: [[String: Any]] = []
        var blobs: [UInt8] = []
        let classes = logits.count / max(rows, 1)
        let flat = logits.floats
        for request in parsed.outputs {
            var out: [String: Any] = ["name": m.output.name]
            if let k = request.classification {
                guard (1...classes).contains(k) else { throw PredictionError.invalid("classification must be between 1 and \(classes)") }
                let labels = predictor.classifier.predictions(from: logits, rows: rows, topK: k).joined()
                    .map { String(format: "%f:%d:%@", $0.score, $0.index, $0.label) }
                out["datatype"] = "BYTES"
                out["shape"] = [rows, k]
                if request.binary {
                    let bytes = V2Tensor.encodeBytes(labels.map { Array($0.utf8) })
                    out["parameters"] = ["binary_data_size": bytes.count]
                    blobs += bytes
                } else {
                    out["data"] = labels
                }
            } else {
                out["datatype"] = "FP32"
                out["shape"] = [rows, classes]
                if request.binary {
                    out["parameters"] = ["binary_data_size": logits.bytes.count]
                    blobs += logits.bytes
                } else {
                    out["data"] = flat.map(Double.init)
                }
            }
            outputs.append(out)
        }
        var response: [String: Any] = ["model_name": m.name, "model_version": m.version, "outputs": outputs]
        if let id = parsed.id { response["id"] = id }
        let json = try JSONSerialization.data(withJSONObject: response, options: [.withoutEscapingSlashes])
        guard !blobs.isEmpty else {
            return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: json)))
        }
        var headers: HTTPFields = [.contentType: "application/octet-stream"]
        headers[HTTPField.Name("Inference-Header-Content-Length")!] = "\(json.count)"
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: [UInt8](json) + blobs)))
    }
}
