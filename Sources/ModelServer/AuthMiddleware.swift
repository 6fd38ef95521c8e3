import HTTPTypes
import Hummingbird

/// API keys (`Authorization: Bearer KEY` or `X-API-Key: KEY`) for the routes of the group it is
/// added to. A group's middleware runs only once the router has matched one of the group's
/// routes, so protection follows the route, not its spelling: `/score/`, `//score` and
/// `/v1//models/m:classify` reach the same check as `/score`.
///
/// ```swift
/// let keyed = router.group().add(middleware: AuthMiddleware(keys: APIKeys(["k1", "k2"])))
/// keyed.post("/score") { ... }     // 401 without a valid key
/// ```
struct AuthMiddleware<Context: RequestContext>: RouterMiddleware {
    let keys: APIKeys

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let given = APIKeys.given(authorization: request.headers[.authorization], apiKey: request.headers[HTTPField.Name("X-API-Key")!])
        guard let given, keys.accepts(given) else {
            throw APIError(
                .unauthorized,
                given == nil ? "an API key is required (Authorization: Bearer KEY)" : "the API key is not valid",
                headers: [.wwwAuthenticate: "Bearer"]
            )
        }
        return try await next(request, context)
    }
}

/// The server's API keys, as every transport checks them.
///
/// ```swift
/// let keys = APIKeys(["k1"])
/// keys.accepts(APIKeys.given(authorization: "Bearer k1", apiKey: nil) ?? "")   // true
/// ```
public struct APIKeys: Sendable {
    public let keys: [String]

    public init(_ keys: [String]) { self.keys = keys }

    /// The key a request carries: `Bearer KEY` in its authorization header (or metadata), else
    /// its `X-API-Key`.
    public static func given(authorization: String?, apiKey: String?) -> String? {
        authorization.flatMap { $0.hasPrefix("Bearer ") ? String($0.dropFirst(7)) : nil } ?? apiKey
    }

    /// Compares `given` with every key, so the time taken does not tell which key came close.
    public func accepts(_ given: String) -> Bool {
        keys.reduce(false) { found, key in Self.constantTimeEqual(key, given) || found }
    }

    /// Compares without an early exit, so response time does not reveal how much of a key matched.
    static func constantTimeEqual(_ a: String, _ b: String) -> Bool {
        let x = Array(a.utf8)
        let y = Array(b.utf8)
        var diff = UInt8(x.count == y.count ? 0 : 1)
        for i in 0..<max(x.count, y.count) { diff |= (i < x.count ? x[i] : 0) ^ (i < y.count ? y[i] : 0) }
        return diff == 0
    }
}
