import GRPCCore
import GRPCNIOTransportHTTP2Posix
import Logging
import NIOCore
import ModelServer
import ServiceLifecycle

/// The gRPC server (`GRPC_PORT`), run beside the HTTP server on the same ``ModelHost``: the
/// Open Inference Protocol's `inference.GRPCInferenceService` and `grpc.health.v1.Health`,
/// plain HTTP/2 (TLS ends at the ingress, as for HTTP). Messages may be as large as
/// `MAX_BODY_BYTES` (most gRPC stacks default to 4 MiB, too small for photos) and are refused on
/// their length prefix above it; their bytes count toward `MAX_BUFFERED_BODY_BYTES` as they
/// arrive and must all arrive within `BODY_TIMEOUT_SECONDS`, as HTTP bodies (``StreamBudgetHandler``);
/// each connection carries at most `MAX_ACTIVE_REQUESTS` calls at once and is closed after
/// `IDLE_TIMEOUT_SECONDS` with no call open.
///
/// On graceful shutdown it runs after the host has drained (services stop in reverse order):
/// clients get GOAWAY, open new connections (to ready replicas), and calls in flight finish.
///
/// ```swift
/// let server = ModelServer(configuration: config, logger: logger)
/// try await server.run(alongside: [GRPCService(server: server, port: 8081, logger: logger)])
/// ```
public struct GRPCService: Service {
    let server: GRPCServer<HTTP2ServerTransport.Posix>
    let transport: HTTP2ServerTransport.Posix
    let logger: Logger
    let onListening: @Sendable (Int) async -> Void

    public init(server model: ModelServer, port: Int, logger: Logger, onListening: @escaping @Sendable (Int) async -> Void = { _ in }) {
        let configuration = model.configuration
        transport = HTTP2ServerTransport.Posix(
            address: .ipv4(host: configuration.host, port: port),
            transportSecurity: .plaintext,
            config: .defaults {
                $0.rpc.maxRequestPayloadSize = configuration.bodyLimits.maxBodyBytes
                $0.http2.maxConcurrentStreams = configuration.maxActiveRequests
                $0.connection.maxIdleTime = .milliseconds(Int64(configuration.idleTimeoutSeconds * 1000))
                // Calls in flight when a connection is closed (idle, or at shutdown) get this long.
                $0.connection.maxGraceTime = .milliseconds(Int64(configuration.drainTimeoutSeconds * 1000))
                // Windows large enough for a photo's tensor (600 KB) in one round trip: the
                // default 64 KiB made each call wait on window updates. What a window lets a
                // client send is charged to the body budget as it arrives (StreamBudgetHandler).
                $0.http2.targetWindowSize = 4 << 20
                $0.http2.maxFrameSize = 1 << 20
                let (budget, timeout) = (model.admission.budget, TimeAmount.milliseconds(Int64(configuration.bodyLimits.bodyTimeoutSeconds * 1000)))
                $0.channelDebuggingCallbacks.onAcceptHTTP2Stream = { stream in
                    stream.eventLoop.makeCompletedFuture {
                        try stream.pipeline.syncOperations.addHandler(StreamBudgetHandler(budget: budget, timeout: timeout), position: .first)
                    }
                }
            }
        )
        var interceptors: [ConditionalInterceptor<any ServerInterceptor>] = [.apply(MetricsInterceptor(metrics: model.host.metrics), to: .all)]
        if !configuration.apiKeys.isEmpty {
            interceptors.append(.apply(AuthInterceptor(keys: APIKeys(configuration.apiKeys)), to: .methods(AuthInterceptor.keyed)))
        }
        server = GRPCServer(
            transport: transport,
            services: [InferenceService(host: model.host, admission: model.admission), HealthService(host: model.host)],
            interceptorPipeline: interceptors
        )
        self.logger = logger
        self.onListening = onListening
    }

    public func run() async throws {
        try await withGracefulShutdownHandler {
            try await withThrowingDiscardingTaskGroup { group in
                group.addTask { try await server.serve() }
                if let address = try await transport.listeningAddress.ipv4 {
                    logger.info("gRPC listening", metadata: ["address": "\(address.host):\(address.port)"])
                    await onListening(address.port)
                }
            }
        } onGracefulShutdown: {
            server.beginGracefulShutdown()
        }
    }
}
