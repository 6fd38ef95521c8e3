/// Why a prediction request cannot be served, in the request's own terms; the HTTP layer maps
/// it to a status in one place (`APIError.from`): `invalid` → 400, `tooLarge` → 413.
///
/// ```swift
/// guard rows <= limits.maxRows else { throw PredictionError.tooLarge("\(rows) rows, more than \(limits.maxRows)") }
/// ```
public enum PredictionError: Error, Equatable, CustomStringConvertible {
    /// The request is malformed or does not fit the model.
    case invalid(String)
    /// The request is well formed but exceeds a limit (``RequestLimits``).
    case tooLarge(String)

    public var description: String {
        switch self {
        case .invalid(let why), .tooLarge(let why): why
        }
    }
}
