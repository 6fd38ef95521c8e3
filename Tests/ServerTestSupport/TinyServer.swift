import Logging
import ModelServer
import TestSupport

/// A ``ModelServer`` serving ``TinyModel`` with the ``ChannelMeans`` stand-in engine, for
/// in-process tests of either transport (`app.test(.router)`, `InProcessInference`).
///
/// ```swift
/// let server = await TinyServer.make { $0.limits.maxRows = 2 }
/// try await Application(router: server.makeRouter()).test(.router) { client in ... }
/// ```
public enum TinyServer {
    /// With `load: false` the model is never loaded (the host stays "loading").
    public static func make(configure: (inout ServerConfiguration) -> Void = { _ in }, load: Bool = true) async -> ModelServer {
        var config = ServerConfiguration()
        config.modelDirectory = TinyModel.directory
        config.skipVerify = true
        configure(&config)
        let server = ModelServer(configuration: config, logger: logger, engine: { _ in ChannelMeans() })
        if load { await server.host.load() }
        return server
    }

    /// Warnings and errors only: the tests' output stays readable.
    public static var logger: Logger {
        var logger = Logger(label: "tiny-server")
        logger.logLevel = .warning
        return logger
    }
}
