import Foundation
import HTTPTypes
import Hummingbird
import ModelEngine
import ModelRuntime

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

    func resolve(_ context: ServerContext) throws -> Predictor {
        let predictor = try host.requirePredictor(named: try context.parameters.require("model"))
        if let v = context.parameters.get("version"), v != predictor.manifest.version {
            throw APIError(.notFound, "model '\(predictor.manifest.name)' has no version '\(v)' (it has '\(predictor.manifest.version)')")
        }
        return predictor
    }

    /// A request parsed on the decode pool: what to answer, and the input (a tensor, or images to decode).
    struct Parsed: Sendable {
        var input: PredictionInput
        var id: String?
        var outputs: [V2Output.Request]
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
            throw APIError(.unsupportedMediaType, "Content-Type must be application/json (or absent), got '\(type)'")
        } else {
            jsonLength = body.count
        }
        let limits = self.limits
        let manifest = predictor.manifest
        let parsed = try await predictor.offload(releasingMemory: jsonLength > BodyReader.largeJSON) {
            let req = try BodyReader.decode(V2InferRequest.self, from: body[..<jsonLength], limits: limits)
            guard req.inputs.count == 1 else {
                throw PredictionError.invalid("\"inputs\" must list exactly one tensor, '\(manifest.input.name)'")
            }
            // The outputs first: checking them is cheap, decoding the input may not be.
            let outputs = try V2Output.requests(req, output: manifest.output.name, classes: manifest.output.shape.last.flatMap { $0 > 0 ? $0 : nil })
            let input = try V2Input(spec: req.inputs[0], binary: body[jsonLength...], model: manifest.input, limits: predictor.limits).decode()
            return Parsed(input: input, id: req.id, outputs: outputs)
        }
        let input = try await predictor.tensor(for: parsed.input)
        let logits = try await predictor.logits(input)
        return try V2Output.response(parsed, logits: logits, rows: input.shape[0], predictor)
    }
}
