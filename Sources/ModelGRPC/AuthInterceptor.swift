import GRPCCore
import ModelServer

/// API keys on the gRPC methods that need one (model metadata, inference, the repository
/// methods), from `authorization: Bearer KEY` or `x-api-key: KEY` metadata. Liveness, readiness,
/// server metadata and gRPC health stay open, as their REST routes do.
///
/// ```swift
/// GRPCServer(transport: t, services: [...], interceptorPipeline: [.apply(AuthInterceptor(keys: keys), to: .methods(AuthInterceptor.keyed))])
/// ```
struct AuthInterceptor: ServerInterceptor {
    let keys: APIKeys

    static let keyed: Set<MethodDescriptor> = [
        Inference_GRPCInferenceService.Method.ModelMetadata.descriptor,
        Inference_GRPCInferenceService.Method.ModelInfer.descriptor,
        Inference_GRPCInferenceService.Method.RepositoryModelLoad.descriptor,
        Inference_GRPCInferenceService.Method.RepositoryModelUnload.descriptor,
    ]

    func intercept<Input: Sendable, Output: Sendable>(
        request: StreamingServerRequest<Input>,
        context: ServerContext,
        next: @Sendable (StreamingServerRequest<Input>, ServerContext) async throws -> StreamingServerResponse<Output>
    ) async throws -> StreamingServerResponse<Output> {
        let given = APIKeys.given(
            authorization: request.metadata[stringValues: "authorization"].first(where: { _ in true }),
            apiKey: request.metadata[stringValues: "x-api-key"].first(where: { _ in true })
        )
        guard let given, keys.accepts(given) else {
            throw RPCError(
                code: .unauthenticated,
                message: given == nil ? "an API key is required (authorization: Bearer KEY metadata)" : "the API key is not valid"
            )
        }
        return try await next(request, context)
    }
}
