import GRPCCore
import ModelServer

/// Counts gRPC calls by method and status code, with their durations, in the server's registry
/// beside the HTTP routes' (`model_server_grpc_requests_total{method,code}`). Outermost, so
/// refusals by the other interceptors are counted too.
struct MetricsInterceptor: ServerInterceptor {
    let metrics: ServerMetrics

    func intercept<Input: Sendable, Output: Sendable>(
        request: StreamingServerRequest<Input>,
        context: ServerContext,
        next: @Sendable (StreamingServerRequest<Input>, ServerContext) async throws -> StreamingServerResponse<Output>
    ) async throws -> StreamingServerResponse<Output> {
        let start = ContinuousClock.now
        let method = context.descriptor.fullyQualifiedMethod
        do {
            // A unary handler has run by the time `next` returns, so this times the whole call.
            let response = try await next(request, context)
            let code: String
            switch response.accepted {
            case .success: code = "ok"
            case .failure(let error): code = "\(error.code)"
            }
            metrics.grpcRequest(method: method, code: code, duration: ContinuousClock.now - start)
            return response
        } catch {
            metrics.grpcRequest(method: method, code: "\((error as? RPCError)?.code ?? .unknown)", duration: ContinuousClock.now - start)
            throw error
        }
    }
}
