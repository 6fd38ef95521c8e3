import Foundation
import Hummingbird

/// The request context of every HTTP route: Hummingbird's basic context, with JSON answers written
/// the same way every time (keys sorted, slashes unescaped) whichever route makes them.
///
/// ```swift
/// let router = Router(context: HTTPContext.self)
/// router.get("/v2") { _, _ in V2ServerMetadata() }   // a ResponseEncodable, encoded by responseEncoder
/// ```
public struct HTTPContext: RequestContext {
    public var coreContext: CoreRequestContextStorage

    public init(source: Source) {
        coreContext = .init(source: source)
    }

    public var responseEncoder: JSONEncoder { HTTPContext.encoder }

    /// One encoder for every answer: route results, V2's JSON header and error bodies.
    static var encoder: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }
}
