import Foundation
import Hummingbird
import ModelEngine
import ModelRuntime
import OpenInference

/// KServe V1 (`GET /v1/models/{m}`, `POST /v1/models/{m}:predict`) and the image route
/// `POST /v1/models/{m}:classify?top_k=5` (raw `image/jpeg`/`image/png` body or multipart form).
struct KServeV1Routes {
    let host: ModelHost
    let limits: BodyLimits

    func add(to groups: RouteGroups) {
        groups.keyed.get("/v1/models/{model}") { _, context in
            let predictor = try host.requirePredictor(named: try context.parameters.require("model"))
            return V1ModelStatus(name: predictor.manifest.name, ready: host.isReady)
        }
        groups.predictions.post("/v1/models/{model}:predict") { request, context in
            let predictor = try host.requirePredictor(named: try context.parameters.require("model"))
            try BodyReader.requireJSON(request)
            return try await predict(try await BodyReader.bytes(request, limit: limits.maxBodyBytes), predictor)
        }
        groups.predictions.post("/v1/models/{model}:classify") { request, context in
            let predictor = try host.requirePredictor(named: try context.parameters.require("model"))
            let topK = try Self.topK(request)
            let images = try Self.images(
                request,
                try await BodyReader.bytes(request, limit: limits.maxBodyBytes),
                maxParts: predictor.limits.maxRows
            )
            return V1ClassifyResponse(model: predictor.manifest.name, predictions: try await predictor.classify(images: images, topK: topK))
        }
    }

    /// `?top_k=N`, 1…1000, default 5; anything else is refused rather than replaced by the default.
    static func topK(_ request: Request) throws -> Int {
        guard let text = request.uri.queryParameters.get("top_k") else { return 5 }
        guard let k = Int(text), (1...1000).contains(k) else {
            throw PredictionError.invalid("top_k must be a whole number between 1 and 1000, got '\(clipped(text))'")
        }
        return k
    }

    /// The input tensor of `{"instances": [...]}`: each instance a CHW tensor (nested lists) or
    /// `{"b64": "<image>"}`. Parsed on the decode pool, with the instance count checked first.
    func input(_ body: [UInt8], _ predictor: Predictor) async throws -> Tensor {
        let limits = self.limits
        let shape = Array(predictor.manifest.input.shape.dropFirst())
        let cost = JSONCost()
        let parsed = try await predictor.offload(releasingMemory: cost.isLarge) { () throws -> PredictionInput in
            let instances = try BodyReader.decode(V1PredictRequest.self, from: body, limits: limits, cost: cost).instances
            guard !instances.isEmpty else { throw PredictionError.invalid("the body must be {\"instances\": [...]} with at least one instance") }
            try predictor.limits.checkRows(instances.count, "instances")
            var images: [[UInt8]] = []
            var values: [Float] = []
            // Rows are checked above, so this is at most MAX_ROWS times the model's fixed input.
            let per = V2Tensor.elementCount(shape)
            if let per, case .tensor = instances[0] {
                let (total, overflow) = per.multipliedReportingOverflow(by: instances.count)
                if !overflow { values.reserveCapacity(total) }
            }
            for (i, instance) in instances.enumerated() {
                switch instance {
                case .image(let b64): images.append(try Base64Image.decode(b64, path: "instances[\(i)].b64"))
                case .tensor(let data):
                    guard let per else { throw PredictionError.invalid("the model's input shape \(shape) is not fixed") }
                    guard case .numbers(let flat) = data, flat.count == per else {
                        throw PredictionError.invalid("instances[\(i)] must hold \(per) numbers, the model's input \(shape)")
                    }
                    values += flat.map { Float($0) }
                }
            }
            guard images.isEmpty || values.isEmpty else { throw PredictionError.invalid("instances must be all images or all tensors") }
            return images.isEmpty ? .tensor(Tensor(shape: [instances.count] + shape, floats: values)) : .images(images)
        }
        return try await predictor.tensor(for: parsed)
    }

    func predict(_ body: [UInt8], _ predictor: Predictor) async throws -> V1PredictResponse {
        let input = try await input(body, predictor)
        let logits = try await predictor.logits(input)
        return V1PredictResponse(predictions: Classifier.rows(of: logits, count: input.shape[0]))
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
                "send an image (image/jpeg, image/png) or multipart/form-data, not '\(type.isEmpty ? "none" : clipped(type))'"
            )
        }
        return [body]
    }
}

/// `GET /v1/models/{model}`.
struct V1ModelStatus: ResponseEncodable {
    var name: String
    var ready: Bool
}

/// The body of `:predict`: `{"instances": [...]}`, each a tensor (nested lists) or `{"b64": "<image>"}`.
struct V1PredictRequest: Decodable {
    enum Instance: Decodable {
        case image(String)
        case tensor(V2Data)

        enum Keys: CodingKey { case b64 }

        init(from decoder: Decoder) throws {
            if let object = try? decoder.container(keyedBy: Keys.self) {
                self = .image(try object.decode(String.self, forKey: .b64))
            } else {
                self = .tensor(try V2Data(from: decoder))
            }
        }
    }
    var instances: [Instance]
}

/// The answer of `:predict`: the model's output row per instance.
struct V1PredictResponse: ResponseEncodable {
    var predictions: [[Float]]
}

/// The answer of `:classify`: the top classes per image.
struct V1ClassifyResponse: ResponseEncodable {
    var model: String
    var predictions: [[Classifier.Prediction]]
}
