import GRPCCore
import ModelRuntime
import ModelServer

/// `grpc.health.v1.Health`, for Kubernetes' gRPC probes and load balancers: SERVING once the
/// model is ready (and until shutdown begins), NOT_SERVING otherwise, for the server as a whole
/// (`""`) and for `inference.GRPCInferenceService`. `Watch` sends the status, then each change,
/// and ends once shutdown has begun.
///
/// ```yaml
/// readinessProbe: {grpc: {port: 8081}}   # Kubernetes 1.27+
/// ```
struct HealthService: Grpc_Health_V1_Health.SimpleServiceProtocol {
    let host: ModelHost

    static let services: Set<String> = ["", "inference.GRPCInferenceService"]

    func check(request: Grpc_Health_V1_HealthCheckRequest, context: ServerContext) async throws -> Grpc_Health_V1_HealthCheckResponse {
        guard Self.services.contains(request.service) else {
            throw RPCError(code: .notFound, message: "unknown service '\(clipped(request.service))'")
        }
        return .with { $0.status = status }
    }

    func watch(
        request: Grpc_Health_V1_HealthCheckRequest,
        response: RPCWriter<Grpc_Health_V1_HealthCheckResponse>,
        context: ServerContext
    ) async throws {
        guard Self.services.contains(request.service) else {
            // The protocol answers an unknown service with SERVICE_UNKNOWN on the stream.
            try await response.write(.with { $0.status = .serviceUnknown })
            return
        }
        var last: Grpc_Health_V1_HealthCheckResponse.ServingStatus?
        while !Task.isCancelled {
            let now = status
            if now != last {
                try await response.write(.with { $0.status = now })
                last = now
            }
            // Once shutdown has begun the answer will not change again: end the stream, so that
            // watchers do not hold the gRPC server open through the drain.
            if host.isShuttingDown { return }
            try await Task.sleep(for: .milliseconds(250))
        }
    }

    private var status: Grpc_Health_V1_HealthCheckResponse.ServingStatus { host.isReady ? .serving : .notServing }
}
