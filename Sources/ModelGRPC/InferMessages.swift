import Foundation
import GRPCCore
import ModelRuntime
import ModelStore
import OpenInference

// Protobuf messages to and from the Open Inference Protocol's transport-neutral types, so the
// gRPC service runs the same checks and answers as the REST route.

extension Inference_ModelInferRequest {
    /// Bytes the request's tensors hold, which the call keeps while it runs.
    var payloadBytes: Int {
        rawInputContents.reduce(0) { $0 + $1.count }
            + inputs.reduce(0) { total, input in
                let c = input.contents
                return total + c.bytesContents.reduce(0) { $0 + $1.count + 4 } + c.fp32Contents.count * 4 + c.fp64Contents.count * 8
                    + c.intContents.count * 4 + c.int64Contents.count * 8 + c.uintContents.count * 4 + c.uint64Contents.count * 8
                    + c.boolContents.count
            }
    }

    /// The request as `V2InferRequest`, and the bytes its one input's `binary_data_size` refers
    /// to: `raw_input_contents`, or the typed contents as raw little-endian bytes of their own
    /// type (so `V2Input` checks the shape and the row limit before any value is converted), or
    /// BYTES contents in the binary extension's length-prefixed form. At most `maxRows` BYTES
    /// elements are copied. Every output is asked for as raw bytes, as Triton answers over gRPC.
    func openInference(maxRows: Int) throws -> (V2InferRequest, [UInt8]) {
        guard inputs.count == 1, let tensor = inputs.first else {
            throw PredictionError.invalid("the request must hold exactly one input tensor, not \(inputs.count)")
        }
        var input = V2InferRequest.Input(name: tensor.name, shape: tensor.shape.map { Int($0) }, datatype: tensor.datatype)
        var raw: [UInt8]
        if !rawInputContents.isEmpty {
            guard rawInputContents.count == 1, !tensor.hasContents else {
                throw PredictionError.invalid("raw_input_contents must hold one entry per input, and then no input may have contents")
            }
            raw = [UInt8](rawInputContents[0])
        } else if tensor.datatype == "BYTES" {
            raw = try tensor.contents.bytesElements(maxRows: maxRows)
        } else {
            (input.datatype, raw) = try tensor.contents.rawBytes(for: tensor.datatype)
        }
        input.parameters = .init(binary_data_size: raw.count)
        let requested = try outputs.map { output -> V2InferRequest.Output in
            var classification: Int?
            if let k = output.parameters["classification"] {
                guard case .int64Param(let n) = k.parameterChoice else { throw PredictionError.invalid("classification must be an int64 parameter") }
                classification = Int(n)
            }
            return .init(name: output.name, parameters: .init(binary_data: true, classification: classification))
        }
        let v2 = V2InferRequest(id: id, parameters: .init(binary_data_output: true), inputs: [input], outputs: requested.isEmpty ? nil : requested)
        return (v2, raw)
    }
}

extension Inference_InferTensorContents {
    /// The typed contents the datatype calls for, as the raw bytes of the field's own type (the
    /// datatype the bytes are then read as): no wider than the message that carried them.
    /// FP16 and BF16 have no typed field: they go raw.
    func rawBytes(for datatype: String) throws -> (datatype: String, bytes: [UInt8]) {
        func bytes<T>(_ values: [T]) -> [UInt8] { values.withUnsafeBytes { Array($0) } }
        switch datatype {
        case "FP32": return ("FP32", bytes(fp32Contents))
        case "FP64": return ("FP64", bytes(fp64Contents))
        case "INT8", "INT16", "INT32": return ("INT32", bytes(intContents))
        case "INT64": return ("INT64", bytes(int64Contents))
        case "UINT8", "UINT16", "UINT32": return ("UINT32", bytes(uintContents))
        case "UINT64": return ("UINT64", bytes(uint64Contents))
        case "BOOL": return ("BOOL", boolContents.map { $0 ? 1 : 0 })
        case "FP16", "BF16": throw PredictionError.invalid("\(datatype) tensors must be sent in raw_input_contents")
        default: throw PredictionError.invalid("unsupported datatype '\(clipped(datatype))'")
        }
    }

    /// `bytes_contents` in the binary extension's form (4-byte little-endian length, then the
    /// bytes), refused above `maxRows` elements before anything is copied.
    func bytesElements(maxRows: Int) throws -> [UInt8] {
        guard bytesContents.count <= maxRows else {
            throw PredictionError.tooLarge(
                "the request holds \(bytesContents.count) images, more than the limit of \(maxRows) (MAX_ROWS_PER_REQUEST)"
            )
        }
        var out: [UInt8] = []
        out.reserveCapacity(bytesContents.reduce(0) { $0 + $1.count + 4 })
        for element in bytesContents {
            withUnsafeBytes(of: UInt32(element.count).littleEndian) { out.append(contentsOf: $0) }
            out.append(contentsOf: element)
        }
        return out
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
