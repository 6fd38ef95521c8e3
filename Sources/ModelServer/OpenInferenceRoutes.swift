import Foundation
import HTTPTypes
import Hummingbird
import ModelEngine
import ModelRuntime
import OpenInference

/// The Open Inference Protocol (V2) REST API, as KServe and Triton serve it, with Triton's
/// binary tensor data and classification extensions. A BYTES input holds encoded images.
struct OpenInferenceRoutes {
    let host: ModelHost
    let limits: BodyLimits

    func add(to groups: RouteGroups) {
        groups.open.get("/v2") { _, _ in V2ServerMetadata() }
        for prefix in ["/v2/models/{model}", "/v2/models/{model}/versions/{version}"] {
            groups.keyed.get(RouterPath(prefix)) { _, context in
                let m = try resolve(context).manifest
                return V2ModelMetadata(
                    name: m.name,
                    versions: [m.version],
                    inputs: [.init(name: m.input.name, datatype: m.input.datatype, shape: m.input.shape)],
                    outputs: [.init(name: m.output.name, datatype: m.output.datatype, shape: m.output.shape)]
                )
            }
            groups.open.get(RouterPath(prefix + "/ready")) { _, context -> Response in
                _ = try resolve(context)
                guard host.isReady else { throw APIError(.serviceUnavailable, host.notReadyReason, headers: [.retryAfter: "1"]) }
                return Response(status: .ok)
            }
            groups.predictions.post(RouterPath(prefix + "/infer")) { request, context in
                let predictor = try resolve(context)
                let body = try await BodyReader.bytes(request, limit: limits.maxBodyBytes)
                return try await infer(request, body, predictor)
            }
        }
    }

    func resolve(_ context: HTTPContext) throws -> Predictor {
        let predictor = try host.requirePredictor(named: try context.parameters.require("model"))
        if let v = context.parameters.get("version"), v != predictor.manifest.version {
            throw APIError(.notFound, "model '\(predictor.manifest.name)' has no version '\(clipped(v))' (it has '\(predictor.manifest.version)')")
        }
        return predictor
    }

    func infer(_ request: Request, _ body: [UInt8], _ predictor: Predictor) async throws -> V2Answer {
        let jsonLength: Int
        if let header = request.headers[HTTPField.Name("Inference-Header-Content-Length")!] {
            guard header.utf8.allSatisfy({ (48...57).contains($0) }), let n = Int(header), n <= body.count else {
                throw PredictionError.invalid("Inference-Header-Content-Length \(header) does not fit a body of \(body.count) bytes")
            }
            jsonLength = n
        } else if let type = request.headers[.contentType]?.lowercased(), !type.hasPrefix("application/json") {
            // Triton's client sends no Content-Type; a wrong one is still refused.
            throw APIError(.unsupportedMediaType, "Content-Type must be application/json (or absent), got '\(clipped(type))'")
        } else {
            jsonLength = body.count
        }
        let limits = self.limits
        let cost = JSONCost()
        let prepared = try await predictor.offload(releasingMemory: cost.isLarge) {
            try V2Prepared(
                BodyReader.decode(V2InferRequest.self, from: body[..<jsonLength], limits: limits, cost: cost), binary: body[jsonLength...], predictor: predictor
            )
        }
        return V2Answer(result: try await prepared.run(on: predictor))
    }
}
