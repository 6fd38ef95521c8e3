import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import ServiceLifecycle

/// The HTTP service: routes, the model host, and graceful shutdown on SIGTERM/SIGINT.
///
/// ```swift
/// let server = ModelServer(configuration: try ServerConfiguration(environment: env), logger: logger)
/// try await server.run()
/// ```
public struct ModelServer: Sendable {
    public let configuration: ServerConfiguration
    public let host: ModelHost
    /// After SIGTERM: every response closes its connection, until requests stop arriving.
    public let drain: Drain
    /// Capacity, active slots and the body budget, shared by the HTTP routes and any other
    /// transport serving the same host (the gRPC service).
    public let admission: Admission
    let logger: Logger

    /// `engine` runs the model (the ONNX engine unless a test brings a stand-in).
    public init(configuration: ServerConfiguration, logger: Logger, engine: @escaping ModelHost.EngineLoader = ModelHost.onnxEngine) {
        self.configuration = configuration
        self.logger = logger
        let drain = Drain()
        self.drain = drain
        self.admission = Admission(
            limit: configuration.maxConcurrentRequests,
            active: configuration.maxActiveRequests,
            maxBufferedBytes: configuration.maxBufferedBodyBytes
        )
        self.host = ModelHost(configuration: configuration, logger: logger, drain: drain, engine: engine)
    }

    /// The services to run: the HTTP application, a metrics-only application when
    /// `metricsPort` is set, `others` (more transports on the same host: the gRPC service), and
    /// the model host last. Shutdown runs in reverse: the host drains first, then the
    /// transports close. `onServerRunning` reports the main server's bound port (tests bind port 0).
    public func services(alongside others: [any Service] = [], onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }) -> [any Service] {
        var services: [any Service] = [
            Application(
                router: makeRouter(),
                server: http1(),
                configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: ServerInfo.name),
                onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? 0) },
                logger: logger
            )
        ]
        if let metricsPort = configuration.metricsPort {
            let router = Router(context: HTTPContext.self)
            addMetricsRoute(to: router.group())
            services.append(
                Application(
                    router: router,
                    server: http1(),
                    configuration: .init(address: .hostname(configuration.host, port: metricsPort), serverName: ServerInfo.name),
                    logger: logger
                )
            )
        }
        services += others
        services.append(host)
        return services
    }

    /// HTTP/1.1 as both ports serve it: idle connections are closed instead of held forever, and
    /// so are request heads trickled in byte by byte (HeadDeadlineHandler); parser errors get a
    /// JSON answer; after SIGTERM each response closes its connection (DrainHandler). A body
    /// must also arrive within BODY_TIMEOUT_SECONDS (BodyReader.collect).
    private func http1() -> HTTPServerBuilder {
        let idle = TimeAmount.milliseconds(Int64(configuration.idleTimeoutSeconds * 1000))
        let drain = self.drain
        return .http1(
            configuration: .init(
                additionalChannelHandlers: [ProtocolErrorHandler(), HeadDeadlineHandler(timeout: idle), DrainHandler(drain: drain)],
                idleTimeout: idle
            )
        )
    }

    /// Every route, with JSON errors, metrics, authentication and admission middleware; for
    /// serving inside another `Application`, or in-process tests (`app.test(.router)`).
    public func makeRouter() -> Router<HTTPContext> {
        let router = Router(context: HTTPContext.self)
        let table = RouteTable()
        // Metrics outermost, so that they count the error responses JSONErrorMiddleware makes.
        router.add(middleware: RouteMetricsMiddleware(metrics: host.metrics))
        router.add(middleware: JSONErrorMiddleware(routes: table))
        let groups = RouteGroups(router: router, configuration: configuration, admission: admission)
        HealthRoutes(host: host).add(to: groups)
        FlaskRoutes(host: host, limits: configuration.bodyLimits).add(to: groups)
        KServeV1Routes(host: host, limits: configuration.bodyLimits).add(to: groups)
        OpenInferenceRoutes(host: host, limits: configuration.bodyLimits).add(to: groups)
        if configuration.metricsPort == nil { addMetricsRoute(to: groups.open) }
        groups.open.get("/openapi.json") { _, _ in
            Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: OpenAPIDocument.json)))
        }
        table.load(router.routes.map { ("\($0.method)", "\($0.path)") })
        return router
    }

    private func addMetricsRoute(to router: some RouterMethods<HTTPContext>) {
        let metrics = host.metrics
        router.get("/metrics") { _, _ in
            Response(
                status: .ok,
                headers: [.contentType: "text/plain; version=0.0.4"],
                body: .init(byteBuffer: ByteBuffer(bytes: metrics.registry.emitToBuffer()))
            )
        }
    }

    /// Runs until SIGTERM or SIGINT: readiness turns false, then in-flight requests finish.
    /// `others` run alongside (see ``services(alongside:onServerRunning:)``).
    public func run(alongside others: [any Service] = []) async throws {
        // Shutdown runs in reverse order: the model host (readiness) first, then the transports.
        var config = ServiceGroupConfiguration(services: services(alongside: others), gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        // In-flight requests get this long to finish; then the process exits anyway.
        config.maximumGracefulShutdownDuration = .milliseconds(Int(configuration.drainTimeoutSeconds * 1000))
        let group = ServiceGroup(configuration: config)
        try await group.run()
    }
}

/// The three kinds of route, each a router group whose middleware runs only for the routes
/// matched in it, so what guards a route does not depend on how its path was spelled.
struct RouteGroups {
    /// Probes, server metadata, metrics and the API document: no key, never shed.
    let open: RouterGroup<HTTPContext>
    /// Model details: an API key, when keys are configured.
    let keyed: RouterGroup<HTTPContext>
    /// Predictions: an API key, then admission (capacity, the body within its limits, an active slot).
    let predictions: RouterGroup<HTTPContext>

    init(router: Router<HTTPContext>, configuration: ServerConfiguration, admission: Admission) {
        open = router.group()
        keyed = router.group()
        if !configuration.apiKeys.isEmpty { keyed.add(middleware: AuthMiddleware(keys: APIKeys(configuration.apiKeys))) }
        predictions = keyed.group().add(middleware: AdmissionMiddleware(admission: admission, limits: configuration.bodyLimits))
    }
}
