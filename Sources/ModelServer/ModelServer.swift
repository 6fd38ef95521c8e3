import Hummingbird
import Logging
import ServiceLifecycle

/// The HTTP service: routes, the model service, and graceful shutdown on SIGTERM/SIGINT.
///
/// ```swift
/// let server = ModelServer(configuration: ServerConfiguration(environment: env), logger: logger)
/// try await server.run()
/// ```
public struct ModelServer: Sendable {
    public let configuration: ServerConfiguration
    public let model: ModelService
    let logger: Logger

    public init(configuration: ServerConfiguration, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
        self.model = ModelService(configuration: configuration, logger: logger)
    }

    /// The application (exposed for tests, which run it on a free port).
    public func application(onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }) -> some ApplicationProtocol {
        Application(
            router: makeRouter(),
            configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: ServerInfo.name),
            onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? 0) },
            logger: logger)
    }

    /// Every route, with JSON errors and metrics middleware.
    func makeRouter() -> Router<BasicRequestContext> {
        let router = Router()
        router.add(middleware: JSONErrorMiddleware())
        router.add(middleware: MetricsMiddleware(metrics: model.metrics))
        HealthRoutes(service: model).add(to: router)
        FlaskRoutes(model: model, limits: configuration).add(to: router)
        KServeV1Routes(model: model, limits: configuration).add(to: router)
        OpenInferenceRoutes(model: model, limits: configuration).add(to: router)
        let metrics = model.metrics
        router.get("/metrics") { _, _ in
            Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4"], body: .init(byteBuffer: ByteBuffer(bytes: metrics.registry.emitToBuffer())))
        }
        router.get("/openapi.json") { _, _ in
            Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: OpenAPIDocument.json)))
        }
        return router
    }

    /// Runs until SIGTERM or SIGINT: readiness turns false, then in-flight requests finish.
    public func run() async throws {
        // Shutdown runs in reverse order: the model service (readiness) first, then the HTTP server.
        var config = ServiceGroupConfiguration(services: [application(), model], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        // In-flight requests get this long to finish; then the process exits anyway.
        config.maximumGracefulShutdownDuration = .milliseconds(Int(configuration.drainTimeoutSeconds * 1000))
        let group = ServiceGroup(configuration: config)
        try await group.run()
    }
}
