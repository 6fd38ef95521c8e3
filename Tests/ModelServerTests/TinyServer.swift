import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import ModelServer
import TestSupport

/// Runs `body` against the server's router in process (no socket), serving ``TinyModel``.
/// With `load: false` the model is never loaded (the host stays "loading").
func withTinyServer(
    configure: (inout ServerConfiguration) -> Void = { _ in },
    load: Bool = true,
    _ body: @Sendable (any TestClientProtocol) async throws -> Void
) async throws {
    var config = ServerConfiguration()
    config.modelDirectory = TinyModel.directory
    config.skipVerify = true
    configure(&config)
    var logger = Logger(label: "route-test")
    logger.logLevel = .warning
    let server = ModelServer(configuration: config, logger: logger, engine: { _ in ChannelMeans() })
    if load { await server.host.load() }
    try await Application(router: server.makeRouter(), logger: logger).test(.router, body)
}

extension TestResponse {
    /// The body decoded as `T` (the tests read answers through the same shapes clients would).
    func json<T: Decodable>(_ type: T.Type = T.self) throws -> T { try JSONDecoder().decode(T.self, from: Data(body.readableBytesView)) }

    /// The message of a JSON error answer.
    var error: String { ((try? json([String: String].self)) ?? [:])["error"] ?? "(not a JSON error: \(String(buffer: body)))" }
}
