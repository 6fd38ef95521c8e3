import HTTPTypes
import Hummingbird

/// API keys (`Authorization: Bearer KEY` or `X-API-Key: KEY`) for the routes of the group it is
/// added to. A group's middleware runs only once the router has matched one of the group's
/// routes, so protection follows the route, not its spelling: `/score/`, `//score` and
/// `/v1//models/m:classify` reach the same check as `/score`.
///
/// ```swift
/// let keyed = router.group().add(middleware: AuthMiddleware(keys: ["k1", "k2"]))
/// keyed.post("/score") { ... }     // 401 without a valid key
/// ```
struct AuthMiddleware<Context: RequestContext>: RouterMiddleware {
    let keys: [String]

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let bearer = request.headers[.authorization].flatMap { $0.hasPrefix("Bearer ") ? String($0.dropFirst(7)) : nil }
        let given = bearer ?? request.headers[HTTPField.Name("X-API-Key")!]
        guard let given, Self.matches(given, keys) else {
            throw APIError(
                .unauthorized,
                given == nil ? "an API key is required (Authorization: Bearer KEY)" : "the API key is not valid",
                headers: [.wwwAuthenticate: "Bearer"]
            )
        }
        return try await next(request, context)
    }

    /// Compares `given` with every key, so the time taken does not tell which key came close.
    static func matches(_ given: String, _ keys: [String]) -> Bool {
        keys.reduce(false) { found, key in constantTimeEqual(key, given) || found }
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
