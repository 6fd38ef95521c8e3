/// Why a prediction cannot be made, in the prediction's own terms; a transport maps it to its
/// own in one place (for HTTP, `APIError.from` in ModelServer).
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

/// A client's string as an error message repeats it: at most `limit` characters, so that a
/// 16 MiB model or input name is not sent back (and, over gRPC, percent-encoded to three times
/// its size) in the answer.
///
/// ```swift
/// throw PredictionError.unknownModel("unknown model '\(clipped(name))'")
/// ```
public func clipped(_ text: some StringProtocol, limit: Int = 64) -> String {
    text.count <= limit ? String(text) : String(text.prefix(limit)) + "… (\(text.utf8.count) bytes)"
}
