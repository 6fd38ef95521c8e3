import Foundation
import Hummingbird
import ModelEngine

/// KServe V1 (`GET /v1/models/{m}`, `POST /v1/models/{m}:predict`) and the image route
/// `POST /v1/models/{m}:classify?top_k=5` (raw `image/jpeg`/`image/png` body or multipart form).
struct KServeV1Routes {
    let model: ModelService
    let limits: ServerConfiguration

    func add(to router: Router<BasicRequestContext>) {
        router.get("/v1/models/{model}") { _, context -> Response in
            let name = try context.parameters.require("model")
            let inference = try model.requireInference(named: name)
            return try jsonResponse(["name": inference.manifest.name, "ready": model.isReady])
        }
        router.post("/v1/models/{model}") { request, context -> Response in
            let action = try context.parameters.require("model")
            guard let colon = action.lastIndex(of: ":") else { throw APIError(.notFound, "use /v1/models/{model}:predict or :classify") }
            let name = String(action[..<colon]), verb = action[action.index(after: colon)...]
            let inference = try model.requireInference(named: name)
            let body = try await Body.read(request, limit: limits.maxBodyBytes)
            switch verb {
            case "predict":
                try Body.requireJSON(request)
                return try await predict(body, inference)
            case "classify":
                let topK = request.uri.queryParameters.get("top_k", as: Int.self) ?? 5
                guard (1...1000).contains(topK) else { throw APIError.badRequest("top_k must be between 1 and 1000") }
                let images = try Self.images(request, body)
                let top = try await inference.classify(images: images, topK: topK)
                let predictions = top.map { $0.map { ["index": $0.index, "label": $0.label, "score": Double($0.score)] as [String: Any] } }
                return try jsonResponse(["model": inference.manifest.name, "predictions": predictions])
            default:
                throw APIError(.notFound, "unknown action '\(verb)': use :predict or :classify")
            }
        }
    }

    /// `{"instances": [...]}`: each instance a CHW tensor (nested lists) or `{"b64": "<image>"}`.
    func predict(_ body: [UInt8], _ inference: InferenceService) async throws -> Response {
        guard let object = try Body.json(body) as? [String: Any], let instances = object["instances"] as? [Any], !instances.isEmpty else {
            throw APIError.badRequest("the body must be {\"instances\": [...]} with at least one instance")
        }
        let input: Tensor
        if instances.allSatisfy({ ($0 as? [String: Any])?["b64"] != nil }) {
            let images = try instances.enumerated().map { i, item -> [UInt8] in
                guard let b64 = (item as! [String: Any])["b64"] as? String, let data = Data(base64Encoded: b64, options: .ignoreUnknownCharacters) else {
                    throw APIError.badRequest("instances[\(i)].b64 is not valid base64")
                }
                return [UInt8](data)
            }
            input = try await inference.tensor(fromImages: images)
        } else {
            let shape = Array(inference.manifest.input.shape.dropFirst())
            var values: [Float] = []
            for (i, item) in instances.enumerated() {
                let flat = try V2Tensor.flatten(item, path: "instances[\(i)]")
                guard flat.count == shape.reduce(1, *) else {
                    throw APIError.badRequest("instances[\(i)] has \(flat.count) values; the model takes \(shape) = \(shape.reduce(1, *))")
                }
                values += flat.map { Float($0) }
            }
            input = Tensor(shape: [instances.count] + shape, floats: values)
        }
        let output = try await inference.run(input)[inference.classifier.outputName]!
        let rows = instances.count, per = output.count / rows, flat = output.floats
        var predictions: [[Double]] = []
        for r in 0..<rows { predictions.append(flat[(r * per)..<((r + 1) * per)].map { Double($0) }) }
        return try jsonResponse(["predictions": predictions])
    }

    /// The image bytes of a raw image body or of each file part of a multipart form.
    static func images(_ request: Request, _ body: [UInt8]) throws -> [[UInt8]] {
        let type = request.headers[.contentType]?.lowercased() ?? ""
        if type.hasPrefix("multipart/form-data") {
            let boundary = try MultipartForm.boundary(contentType: request.headers[.contentType] ?? "")
            let images = try MultipartForm.parts(of: body, boundary: boundary)
            guard !images.isEmpty else { throw APIError.badRequest("the multipart form has no image parts") }
            return images
        }
        guard type.hasPrefix("image/") || type == "application/octet-stream" else {
            throw APIError(.unsupportedMediaType, "send an image (image/jpeg, image/png) or multipart/form-data, not '\(type.isEmpty ? "none" : type)'")
        }
        return [body]
    }
}

func jsonResponse(_ object: Any, status: HTTPResponse.Status = .ok) throws -> Response {
    let data = try JSONSerialization.data(withJSONObject: object, options: [.withoutEscapingSlashes])
    return Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: data)))
}
