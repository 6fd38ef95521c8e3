import Foundation
import Hummingbird
import ModelEngine
import ModelRuntime

/// KServe V1 (`GET /v1/models/{m}`, `POST /v1/models/{m}:predict`) and the image route
/// `POST /v1/models/{m}:classify?top_k=5` (raw `image/jpeg`/`image/png` body or multipart form).
struct KServeV1Routes {
    let host: ModelHost
    let limits: BodyLimits

    func add(to groups: RouteGroups) {
        groups.keyed.get("/v1/models/{model}") { _, context -> Response in
            let name = try context.parameters.require("model")
            let predictor = try host.requirePredictor(named: name)
            return try jsonResponse(["name": predictor.manifest.name, "ready": host.isReady])
        }
        groups.predictions.post("/v1/models/{model}:predict") { request, context -> Response in
            let predictor = try host.requirePredictor(named: try context.parameters.require("model"))
            try RequestBody.requireJSON(request)
            return try await predict(try await RequestBody.bytes(request, limit: limits.maxBodyBytes), predictor)
        }
        groups.predictions.post("/v1/models/{model}:classify") { request, context -> Response in
            let predictor = try host.requirePredictor(named: try context.parameters.require("model"))
            let topK = try Self.topK(request)
            let images = try Self.images(
                request,
                try await RequestBody.bytes(request, limit: limits.maxBodyBytes),
                maxParts: predictor.limits.maxRows
            )
            let top = try await predictor.classify(images: images, topK: topK)
            let predictions = top.map { $0.map { ["index": $0.index, "label": $0.label, "score": Double($0.score)] as [String: Any] } }
            return try jsonResponse(["model": predictor.manifest.name, "predictions": predictions])
        }
    }

    /// `?top_k=N`, 1…1000, default 5; anything else is refused rather than replaced by the default.
    static func topK(_ request: Request) throws -> Int {
        guard let text = request.uri.queryParameters.get("top_k") else { return 5 }
        guard let k = Int(text), (1...1000).contains(k) else {
            throw PredictionError.invalid("top_k must be a whole number between 1 and 1000, got '\(text)'")
        }
        return k
    }

    /// The input tensor of `{"instances": [...]}`: each instance a CHW tensor (nested lists) or
    /// `{"b64": "<image>"}`. Parsed on the decode pool, with the instance count checked first.
    func input(_ body: [UInt8], _ predictor: Predictor) async throws -> Tensor {
        let limits = self.limits
        let shape = Array(predictor.manifest.input.shape.dropFirst())
        let parsed = try await predictor.offload(releasingMemory: body.count > RequestBody.largeJSON) { () throws -> PredictionInput in
            guard let object = try RequestBody.json(body, limits: limits) as? [String: Any], let instances = object["instances"] as? [Any],
                !instances.isEmpty
            else {
                throw PredictionError.invalid("the body must be {\"instances\": [...]} with at least one instance")
            }
            try predictor.limits.checkRows(instances.count, "instances")
            if instances.allSatisfy({ ($0 as? [String: Any])?["b64"] != nil }) {
                return .images(
                    try instances.enumerated().map { i, item in
                        guard let b64 = (item as! [String: Any])["b64"] as? String else {
                            throw PredictionError.invalid("instances[\(i)].b64 is not a string")
                        }
                        return try Base64Image.decode(b64, path: "instances[\(i)].b64")
                    }
                )
            }
            guard let per = V2Tensor.elementCount(shape) else { throw PredictionError.invalid("the model's input shape \(shape) is not fixed") }
            var values: [Float] = []
            values.reserveCapacity(per * instances.count)
            for (i, item) in instances.enumerated() {
                let flat = try V2Tensor.flatten(item, path: "instances[\(i)]")
                guard flat.count == per else {
                    throw PredictionError.invalid("instances[\(i)] has \(flat.count) values; the model takes \(shape) = \(per)")
                }
                values += flat.map { Float($0) }
            }
            return .tensor(Tensor(shape: [instances.count] + shape, floats: values))
        }
        return try await predictor.tensor(for: parsed)
    }

    func predict(_ body: [UInt8], _ predictor: Predictor) async throws -> Response {
        let input = try await input(body, predictor)
        let logits = try await predictor.logits(input)
        return try jsonResponse(["predictions": Classifier.rows(of: logits, count: input.shape[0]).map { $0.map(Double.init) }])
    }

    /// The image bytes of a raw image body or of each file part of a multipart form.
    static func images(_ request: Request, _ body: [UInt8], maxParts: Int) throws -> [[UInt8]] {
        let type = request.headers[.contentType]?.lowercased() ?? ""
        if type.hasPrefix("multipart/form-data") {
            let boundary = try MultipartForm.boundary(contentType: request.headers[.contentType] ?? "")
            let images = try MultipartForm.parts(of: body, boundary: boundary, maxParts: maxParts)
            guard !images.isEmpty else { throw PredictionError.invalid("the multipart form has no image parts") }
            return images
        }
        guard type.hasPrefix("image/") || type == "application/octet-stream" else {
            throw APIError(
                .unsupportedMediaType,
                "send an image (image/jpeg, image/png) or multipart/form-data, not '\(type.isEmpty ? "none" : type)'"
            )
        }
        return [body]
    }
}

func jsonResponse(_ object: Any, status: HTTPResponse.Status = .ok) throws -> Response {
    let data = try JSONSerialization.data(withJSONObject: object, options: [.withoutEscapingSlashes])
    return Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: data)))
}
