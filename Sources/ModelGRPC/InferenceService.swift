import Foundation
import GRPCCore
import ModelRuntime
import ModelServer
import OpenInference

/// `inference.GRPCInferenceService`, the Open Inference Protocol over gRPC, as KServe's
/// `grpc_predict_v2.proto` defines it (Triton's client speaks it too). It answers from the same
/// ``ModelHost`` as the REST routes, through the same ``Admission`` and the same V2 request
/// checks (`V2Prepared`); errors become gRPC status codes (``RPCError/from(_:)``).
///
/// ```swift
/// let service = InferenceService(host: server.host, admission: server.admission)
/// let grpc = GRPCServer(transport: transport, services: [service, HealthService(host: server.host)])
/// ```
struct InferenceService: Inference_GRPCInferenceService.SimpleServiceProtocol {
    let host: ModelHost
    let admission: Admission

    func serverLive(request: Inference_ServerLiveRequest, context: ServerContext) async throws -> Inference_ServerLiveResponse {
        .with { $0.live = true }
    }

    func serverReady(request: Inference_ServerReadyRequest, context: ServerContext) async throws -> Inference_ServerReadyResponse {
        .with { $0.ready = host.isReady }
    }

    func modelReady(request: Inference_ModelReadyRequest, context: ServerContext) async throws -> Inference_ModelReadyResponse {
        try RPCError.mapping {
            _ = try predictor(request.name, version: request.version)
            return .with { $0.ready = host.isReady }
        }
    }

    func serverMetadata(request: Inference_ServerMetadataRequest, context: ServerContext) async throws -> Inference_ServerMetadataResponse {
        .with {
            $0.name = ServerInfo.name
            $0.version = ServerInfo.version
            $0.extensions = ["classification"]
        }
    }

    func modelMetadata(request: Inference_ModelMetadataRequest, context: ServerContext) async throws -> Inference_ModelMetadataResponse {
        try RPCError.mapping {
            let m = try predictor(request.name, version: request.version).manifest
            return .with {
                $0.name = m.name
                $0.versions = [m.version]
                $0.platform = "onnx"
                $0.inputs = [.init(m.input)]
                $0.outputs = [.init(m.output)]
            }
        }
    }

    func modelInfer(request: Inference_ModelInferRequest, context: ServerContext) async throws -> Inference_ModelInferResponse {
        try await infer(request)
    }

    /// What `ModelInfer` does once the transport has the message. The message's tensor bytes are
    /// charged to the body budget for as long as the call runs (the transport's charge ended when
    /// the message was complete), so a client that resets its streams as soon as they are sent
    /// cannot leave more running than the budget holds.
    func infer(_ request: Inference_ModelInferRequest) async throws -> Inference_ModelInferResponse {
        try await RPCError.mapping {
            let held = ByteBudget.Reservation()
            defer { held.release(to: admission.budget) }
            guard held.take(request.payloadBytes, from: admission.budget) else {
                throw AdmissionError.bodiesFull
            }
            let predictor = try predictor(request.modelName, version: request.modelVersion)
            return try await admission.run {
                let maxRows = predictor.limits.maxRows
                let prepared = try await predictor.offload {
                    let (v2, raw) = try request.openInference(maxRows: maxRows)
                    return try V2Prepared(v2, binary: raw[...], predictor: predictor)
                }
                return try Inference_ModelInferResponse(try await prepared.run(on: predictor))
            }
        }
    }

    /// One model is baked into the image: loading it again is a no-op, unloading is refused.
    func repositoryModelLoad(
        request: Inference_RepositoryModelLoadRequest,
        context: ServerContext
    ) async throws -> Inference_RepositoryModelLoadResponse {
        try RPCError.mapping {
            _ = try predictor(request.modelName, version: "")
            return .with {
                $0.modelName = request.modelName
                $0.isLoaded = true
            }
        }
    }

    func repositoryModelUnload(
        request: Inference_RepositoryModelUnloadRequest,
        context: ServerContext
    ) async throws -> Inference_RepositoryModelUnloadResponse {
        try RPCError.mapping { _ = try predictor(request.modelName, version: "") }
        throw RPCError(code: .failedPrecondition, message: "this server serves the one model baked into its image and does not unload it")
    }

    /// The predictor for `name` (and `version`, when given), or the domain error saying why not.
    private func predictor(_ name: String, version: String) throws -> Predictor {
        let predictor = try host.requirePredictor(named: name)
        guard version.isEmpty || version == predictor.manifest.version else {
            throw PredictionError.unknownModel("model '\(clipped(name))' has no version '\(clipped(version))' (it has '\(predictor.manifest.version)')")
        }
        return predictor
    }
}
