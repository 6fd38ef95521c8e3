import Hummingbird
import HTTPTypes

/// Optional API keys for the prediction routes (`Authorization: Bearer KEY` or `X-API-Key: KEY`).
/// Probes, metadata and `/metrics` stay open so load balancers and kubelets need no secret.
struct AuthMiddleware<Context: RequestContext>: RouterMiddleware {
    let keys: [String]

    /// Routes that need a key: predictions and model details.
    static func isProtected(_ path: String) -> Bool {
        if path == "/score" || path.hasPrefix("/v1/") { return true }
        return path.hasPrefix("/v2/models/") && !path.hasSuffix("/ready")
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard Self.isProtected(request.uri.path) else { return try await next(request, context) }
        let bearer = request.headers[.authorization].flatMap { $0.hasPrefix("Bearer ") ? String($0.dropFirst(7)) : nil }
        let given = bearer ?? request.headers[HTTPField.Name("X-API-Key")!]
        guard let given, keys.contains(where: { Self.constantTimeEqual($0, given) }) else {
            throw APIError(.unauthorized, given == nil ? "an API key is required (Authorization: Bearer KEY)" : "the API key is not valid",
                           headers: [.wwwAuthenticate: "Bearer"])
        }
        return try await next(request, context)
    }

    /// Compares without an early exit, so response time does not reveal how much of a key matched.
    static func constantTimeEqual(_ a: String, _ b: String) -> Bool {
        let x = Array(a.utf8), y = Array(b.utf8)
        var diff = UInt8(x.count == y.count ? 0 : 1)
        for i in 0..<max(x.count, y.count) { diff |= (i < x.count ? x[i] : 0) ^ (i < y.count ? y[i] : 0) }
        return diff == 0
    }
}
