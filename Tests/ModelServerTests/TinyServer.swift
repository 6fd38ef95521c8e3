import Foundation
import Hummingbird
import HummingbirdTesting
import ModelServer
import ServerTestSupport

/// Runs `body` against the server's router in process (no socket), serving ``TinyModel``.
/// With `load: false` the model is never loaded (the host stays "loading").
func withTinyServer(
    configure: (inout ServerConfiguration) -> Void = { _ in },
    load: Bool = true,
    _ body: @Sendable (any TestClientProtocol) async throws -> Void
) async throws {
    let server = await TinyServer.make(configure: configure, load: load)
    try await Application(router: server.makeRouter(), logger: TinyServer.logger).test(.router, body)
}

extension TestResponse {
    /// The body decoded as `T` (the tests read answers through the same shapes clients would).
    func json<T: Decodable>(_ type: T.Type = T.self) throws -> T { try JSONDecoder().decode(T.self, from: Data(body.readableBytesView)) }

    /// The message of a JSON error answer.
    var error: String { ((try? json([String: String].self)) ?? [:])["error"] ?? "(not a JSON error: \(String(buffer: body)))" }
}
