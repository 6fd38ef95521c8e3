/// Why a prediction request cannot be served, in the request's own terms; the HTTP layer maps
/// it to a status in one place (`APIError.from`): `invalid` → 400, `tooLarge` → 413,
/// `unknownModel` → 404, `notReady` → 503 with `Retry-After`.
///
/// ```swift
/// guard rows <= limits.maxRows else { throw PredictionError.tooLarge("\(rows) rows, more than \(limits.maxRows)") }
/// ```
public enum PredictionError: Error, Equatable, CustomStringConvertible {
    /// The request is malformed or does not fit the model.
    case invalid(String)
    /// The request is well formed but exceeds a limit (``RequestLimits``).
    case tooLarge(String)
    /// The request names a model (or version) this server does not serve.
    case unknownModel(String)
    /// The model is loading, failed to load, or the server is shutting down; retrying may help.
    case notReady(String)

    public var description: String {
        switch self {
        case .invalid(let why), .tooLarge(let why), .unknownModel(let why), .notReady(let why): why
        }
    }
}
