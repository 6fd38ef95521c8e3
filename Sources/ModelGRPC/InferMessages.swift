import Foundation
import GRPCCore
import ModelRuntime
import ModelStore
import OpenInference

// Protobuf messages to and from the Open Inference Protocol's transport-neutral types, so the
// gRPC service runs the same checks and answers as the REST route.

extension Inference_ModelInferRequest {
    /// The request as `V2InferRequest`, and the bytes its input's `binary_data_size` refers to:
    /// `raw_input_contents`, or BYTES contents in the binary extension's length-prefixed form.
    /// Every output is asked for as raw bytes, as Triton answers over gRPC.
    func openInference() throws -> (V2InferRequest, [UInt8]) {
        var raw: [UInt8] = []
        let tensors = try inputs.enumerated().map { i, tensor -> V2InferRequest.Input in
            var input = V2InferRequest.Input(name: tensor.name, shape: tensor.shape.map { Int($0) }, datatype: tensor.datatype)
            if !rawInputContents.isEmpty {
                guard rawInputContents.count == self.inputs.count, !tensor.hasContents else {
                    throw PredictionError.invalid("raw_input_contents must hold one entry per input, and then no input may have contents")
                }
                raw = [UInt8](rawInputContents[i])
                input.parameters = .init(binary_data_size: raw.count)
            } else if tensor.datatype == "BYTES" {
                raw = V2Tensor.encodeBytes(tensor.contents.bytesContents.map { [UInt8]($0) })
                input.parameters = .init(binary_data_size: raw.count)
            } else {
                input.data = .numbers(try tensor.contents.numbers(for: tensor.datatype))
            }
            return input
        }
        let requested = try outputs.map { output -> V2InferRequest.Output in
            var classification: Int?
            if let k = output.parameters["classification"] {
                guard case .int64Param(let n) = k.parameterChoice else { throw PredictionError.invalid("classification must be an int64 parameter") }
                classification = Int(n)
            }
            return .init(name: output.name, parameters: .init(binary_data: true, classification: classification))
        }
        let v2 = V2InferRequest(id: id, parameters: .init(binary_data_output: true), inputs: tensors, outputs: requested.isEmpty ? nil : requested)
        return (v2, raw)
    }
}

extension Inference_InferTensorContents {
    /// The typed contents the datatype calls for (FP16 and BF16 have none: they go raw).
    func numbers(for datatype: String) throws -> [Double] {
        switch datatype {
        case "FP32": return fp32Contents.map(Double.init)
        case "FP64": return fp64Contents
        case "INT8", "INT16", "INT32": return intContents.map(Double.init)
        case "INT64": return int64Contents.map(Double.init)
        case "UINT8", "UINT16", "UINT32": return uintContents.map(Double.init)
        case "UINT64": return uint64Contents.map(Double.init)
        case "BOOL": return boolContents.map { $0 ? 1 : 0 }
        case "FP16", "BF16": throw PredictionError.invalid("\(datatype) tensors must be sent in raw_input_contents")
        default: throw PredictionError.invalid("unsupported datatype '\(datatype)'")
        }
    }
}

extension Inference_ModelInferResponse {
    /// The answer with each output's bytes in `raw_output_contents`, in order.
    init(_ result: V2Result) throws {
        self.init()
        modelName = result.response.model_name
        modelVersion = result.response.model_version
        id = result.response.id ?? ""
        var offset = 0
        for output in result.response.outputs {
            outputs.append(
                .with {
                    $0.name = output.name
                    $0.datatype = output.datatype
                    $0.shape = output.shape.map { Int64($0) }
                }
            )
            let size = output.parameters?.binary_data_size ?? 0
            rawOutputContents.append(Data(result.binary[offset..<(offset + size)]))
            offset += size
        }
    }
}

extension Inference_ModelMetadataResponse.TensorMetadata {
    init(_ tensor: ModelManifest.TensorInfo) {
        self.init()
        name = tensor.name
        datatype = tensor.datatype
        shape = tensor.shape.map { Int64($0) }
    }
}
