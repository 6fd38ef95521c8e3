import Foundation
import ModelEngine
import ModelRuntime

/// The outputs a V2 request asks for and the response that answers it.
///
/// ```swift
/// let wanted = try V2Output.requests(request, output: "logits", classes: 1000)   // [Request]: classification k, binary or JSON
/// ```
public enum V2Output {
    /// One output to answer: as logits, or as the top `classification` labels; in JSON or as bytes.
    public struct Request: Sendable {
        public var classification: Int?
        public var binary: Bool
    }

    /// The `outputs` list (default: the model's output, as JSON). Each output may be named once:
    /// a list repeating it 100,000 times would otherwise multiply the response.
    /// `classes` (the output's last dimension, when the manifest fixes it) bounds the
    /// classification parameter before the model runs.
    public static func requests(_ req: V2InferRequest, output: String, classes: Int?) throws -> [Request] {
        let binaryAll = req.parameters?.binary_data_output ?? false
        // No list, or an empty one: the model's output, as Triton answers.
        guard let specs = req.outputs, !specs.isEmpty else { return [Request(classification: nil, binary: binaryAll)] }
        guard specs.count <= 1 else { throw PredictionError.invalid("\"outputs\" must list the model's output '\(output)' at most once") }
        return try specs.map { spec in
            guard spec.name == output else { throw PredictionError.invalid("unknown output '\(clipped(spec.name))'; the model's output is '\(output)'") }
            if let k = spec.parameters?.classification, !(k >= 1 && k <= (classes ?? Int.max)) {
                throw PredictionError.invalid("classification must be between 1 and \(classes ?? Int.max)")
            }
            return Request(classification: spec.parameters?.classification, binary: spec.parameters?.binary_data ?? binaryAll)
        }
    }

    /// The answer to `parsed`: the response, and the bytes of the outputs asked for as binary.
    public static func response(_ parsed: V2Prepared, logits: Tensor, rows: Int, _ predictor: Predictor) throws -> V2Result {
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
        return V2Result(response: V2InferResponse(model_name: m.name, model_version: m.version, id: parsed.id, outputs: outputs), binary: blobs)
    }
}
