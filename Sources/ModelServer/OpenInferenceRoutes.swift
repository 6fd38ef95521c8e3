import Foundation
import HTTPTypes
import Hummingbird
import ModelEngine

/// The Open Inference Protocol (V2) REST API, as KServe and Triton serve it, with Triton's
/// binary tensor data and classification extensions. A BYTES input holds encoded images.
struct OpenInferenceRoutes {
    let model: ModelService
    let limits: ServerConfiguration

    func add(to router: Router<BasicRequestContext>) {
        router.get("/v2") { _, _ in
            try jsonResponse(["name": ServerInfo.name, "version": ServerInfo.version, "extensions": ["binary_tensor_data", "classification"]])
        }
        for prefix in ["/v2/models/{model}", "/v2/models/{model}/versions/{version}"] {
            router.get(RouterPath(prefix)) { _, context -> Response in
                let inference = try resolve(context)
                let m = inference.manifest
                return try jsonResponse([
                    "name": m.name, "versions": [m.version], "platform": "onnx",
                    "inputs": [["name": m.input.name, "datatype": m.input.datatype, "shape": m.input.shape]],
                    "outputs": [["name": m.output.name, "datatype": m.output.datatype, "shape": m.output.shape]],
                ])
            }
            router.get(RouterPath(prefix + "/ready")) { _, context -> Response in
                _ = try resolve(context)
                guard model.isReady else { throw APIError(.serviceUnavailable, model.notReadyReason, headers: [.retryAfter: "1"]) }
                return Response(status: .ok)
            }
            router.post(RouterPath(prefix + "/infer")) { request, context -> Response in
                let inference = try resolve(context)
                let body = try await Body.read(request, limit: limits.maxBodyBytes)
                return try await infer(request, body, inference)
            }
        }
    }

    func resolve(_ context: BasicRequestContext) throws -> InferenceService {
        let inference = try model.requireInference(named: try context.parameters.require("model"))
        if let v = context.parameters.get("version"), v != inference.manifest.version {
            throw APIError(.notFound, "model '\(inference.manifest.name)' has no version '\(v)' (it has '\(inference.manifest.version)')")
        }
        return inference
    }

    func infer(_ request: Request, _ body: [UInt8], _ inference: InferenceService) async throws -> Response {
        var jsonPart = body[...]
        var binary = body[body.endIndex...]
        if let header = request.headers[HTTPField.Name("Inference-Header-Content-Length")!] {
            guard let n = Int(header), n >= 0, n <= body.count else {
                throw APIError.badRequest("Inference-Header-Content-Length \(header) does not fit a body of \(body.count) bytes")
            }
            jsonPart = body[..<n]
            binary = body[n...]
        } else if let type = request.headers[.contentType]?.lowercased(), !type.hasPrefix("application/json") {
            // Triton's client sends no Content-Type; a wrong one is still refused.
            throw APIError(.unsupportedMediaType, "Content-Type must be application/json (or absent), got '\(type)'")
        }
        guard let req = try Body.json(jsonPart) as? [String: Any] else { throw APIError.badRequest("the inference request must be a JSON object") }
        guard let inputs = req["inputs"] as? [[String: Any]], inputs.count == 1 else {
            throw APIError.badRequest("\"inputs\" must list exactly one tensor, '\(inference.manifest.input.name)'")
        }
        let input = try await decodeInput(inputs[0], binary: binary, inference)
        let outputs = try await inference.run(input)
        let logits = outputs[inference.classifier.outputName]!
        return try encode(req, logits: logits, rows: input.shape[0], inference)
    }

    func decodeInput(_ spec: [String: Any], binary: ArraySlice<UInt8>, _ inference: InferenceService) async throws -> Tensor {
        let m = inference.manifest.input
        guard let name = spec["name"] as? String else { throw APIError.badRequest("inputs[0] has no name") }
        guard name == m.name else { throw APIError.badRequest("unknown input '\(name)'; the model's input is '\(m.name)'") }
        guard let shape = spec["shape"] as? [Int], shape.allSatisfy({ $0 >= 0 }) else { throw APIError.badRequest("inputs[0].shape must be a list of non-negative integers") }
        guard let datatype = spec["datatype"] as? String else { throw APIError.badRequest("inputs[0] has no datatype") }
        let binarySize = (spec["parameters"] as? [String: Any])?["binary_data_size"] as? Int
        if let binarySize, binarySize > binary.count { throw APIError.badRequest("binary_data_size \(binarySize) exceeds the \(binary.count) bytes sent") }
        let blob = binarySize.map { binary.prefix($0) }
        if datatype == "BYTES" {
            let images: [[UInt8]]
            if let blob {
                images = try V2Tensor.byteElements(blob)
            } else {
                guard let data = spec["data"] else { throw APIError.badRequest("inputs[0] has no data") }
                images = try V2Tensor.strings(data, path: "inputs[0].data").enumerated().map { i, s in
                    guard let d = Data(base64Encoded: s, options: .ignoreUnknownCharacters), !d.isEmpty else { throw APIError.badRequest("inputs[0].data[\(i)] is not base64") }
                    return [UInt8](d)
                }
            }
            guard images.count == shape.reduce(1, *) else { throw APIError.badRequest("shape \(shape) needs \(shape.reduce(1, *)) images, got \(images.count)") }
            return try await inference.tensor(fromImages: images)
        }
        guard V2Tensor.numericTypes[datatype] != nil else { throw APIError.badRequest("unsupported datatype '\(datatype)'") }
        let want = Array(m.shape.dropFirst())
        guard shape.count == m.shape.count, Array(shape.dropFirst()) == want, shape[0] > 0 else {
            throw APIError.badRequest("inputs[0].shape \(shape) does not fit the model's [-1, \(want.map(String.init).joined(separator: ", "))]")
        }
        let values: [Double]
        if let blob { values = try V2Tensor.numbers(blob, datatype: datatype) } else {
            guard let data = spec["data"] else { throw APIError.badRequest("inputs[0] has no data") }
            values = try V2Tensor.flatten(data, path: "inputs[0].data")
        }
        guard values.count == shape.reduce(1, *) else { throw APIError.badRequest("shape \(shape) needs \(shape.reduce(1, *)) elements, got \(values.count)") }
        guard values.allSatisfy(\.isFinite) else { throw APIError.badRequest("inputs[0] contains NaN or infinite values") }
        return Tensor(shape: shape, floats: values.map(Float.init))
    }

    func encode(_ req: [String: Any], logits: Tensor, rows: Int, _ inference: InferenceService) throws -> Response {
        let m = inference.manifest
        let requested = (req["outputs"] as? [[String: Any]]) ?? [["name": m.output.name]]
        let binaryAll = ((req["parameters"] as? [String: Any])?["binary_data_output"] as? Bool) ?? false
        var outputs: [[String: Any]] = []
        var blobs: [UInt8] = []
        let classes = logits.count / max(rows, 1), flat = logits.floats
        for spec in requested {
            guard let name = spec["name"] as? String, name == m.output.name else {
                throw APIError.badRequest("unknown output '\(spec["name"] ?? "")'; the model's output is '\(m.output.name)'")
            }
            let params = spec["parameters"] as? [String: Any] ?? [:]
            let binary = (params["binary_data"] as? Bool) ?? binaryAll
            var out: [String: Any] = ["name": name]
            if let k = params["classification"] as? Int {
                guard (1...classes).contains(k) else { throw APIError.badRequest("classification must be between 1 and \(classes)") }
                let labels = (0..<rows).map { r in
                    inference.classifier.top(Classifier.softmax(Array(flat[(r * classes)..<((r + 1) * classes)])), k: k)
                        .map { String(format: "%f:%d:%@", $0.score, $0.index, $0.label) }
                }
                out["datatype"] = "BYTES"
                out["shape"] = [rows, k]
                if binary {
                    let bytes = V2Tensor.encodeBytes(labels.joined().map { Array($0.utf8) })
                    out["parameters"] = ["binary_data_size": bytes.count]
                    blobs += bytes
                } else {
                    out["data"] = Array(labels.joined())
                }
            } else {
                out["datatype"] = "FP32"
                out["shape"] = [rows, classes]
                if binary {
                    out["parameters"] = ["binary_data_size": logits.bytes.count]
                    blobs += logits.bytes
                } else {
                    out["data"] = flat.map(Double.init)
                }
            }
            outputs.append(out)
        }
        var response: [String: Any] = ["model_name": m.name, "model_version": m.version, "outputs": outputs]
        if let id = req["id"] as? String { response["id"] = id }
        let json = try JSONSerialization.data(withJSONObject: response, options: [.withoutEscapingSlashes])
        guard !blobs.isEmpty else {
            return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: json)))
        }
        var headers: HTTPFields = [.contentType: "application/octet-stream"]
        headers[HTTPField.Name("Inference-Header-Content-Length")!] = "\(json.count)"
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: [UInt8](json) + blobs)))
    }
}
