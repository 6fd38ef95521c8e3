/// Why a fetch failed. Each case has its own exit code so a pipeline can tell them apart.
public enum FetchError: Error, CustomStringConvertible, Equatable {
    /// 401/403: the credentials are missing, wrong or lack permission.
    case credentials(String)
    /// 404: the URI names nothing.
    case notFound(String)
    /// The bytes arrived but their SHA-256 is not the expected one.
    case checksumMismatch(file: String, expected: String, actual: String)
    /// A prefix's objects do not match its SHA256SUMS (unlisted, missing, or a malformed list).
    /// Same exit code as a checksum mismatch: what arrived cannot be verified.
    case integrity(String)
    /// The destination disk is full.
    case diskFull(String)
    /// Retries exhausted on 5xx, 429, timeouts or dropped connections.
    case transfer(String)
    /// A malformed URI, manifest or argument.
    case usage(String)
    /// An archive that is corrupt or tries to write outside the destination.
    case archive(String)

    public var exitCode: Int32 {
        switch self {
        case .usage: 2
        case .credentials: 3
        case .notFound: 4
        case .checksumMismatch, .integrity: 5
        case .diskFull: 6
        case .transfer: 7
        case .archive: 8
        }
    }

    public var description: String {
        switch self {
        case .credentials(let s): "access denied (check the credentials): \(s)"
        case .notFound(let s): "not found (check the URI): \(s)"
        case .checksumMismatch(let file, let expected, let actual): "checksum mismatch for \(file): expected sha256 \(expected), got \(actual)"
        case .integrity(let s): "cannot verify: \(s)"
        case .diskFull(let s): "disk full: \(s)"
        case .transfer(let s): "transfer failed: \(s)"
        case .usage(let s): s
        case .archive(let s): "bad archive: \(s)"
        }
    }
}
