import Foundation

/// Where an artifact comes from, parsed from a URI and the environment.
///
/// ```swift
/// let source = try Source(uri: "s3://models/resnet/model.onnx", environment: ProcessInfo.processInfo.environment)
/// ```
public enum Source: Equatable, Sendable {
    case s3(S3Location)
    case azure(AzureLocation)
    case http(url: String, headers: [String])
    case file(path: String)

    public init(uri: String, environment env: [String: String]) throws {
        if uri.hasPrefix("s3://") {
            self = .s3(try S3Location(uri: uri, environment: env))
        } else if uri.hasPrefix("file://") {
            self = .file(path: String(uri.dropFirst("file://".count)))
        } else if let url = URL(string: uri), let host = url.host, ["http", "https"].contains(url.scheme),
            host.hasSuffix(".blob.core.windows.net") || host.hasSuffix(".blob.core.chinacloudapi.cn")
        {
            self = .azure(try AzureLocation(url: url, environment: env))
        } else if uri.hasPrefix("https://") || uri.hasPrefix("http://") {
            var headers: [String] = []
            if let token = env["MODEL_FETCH_BEARER_TOKEN"] { headers.append("Authorization: Bearer \(token)") }
            if let header = env["MODEL_FETCH_HEADER"] { headers.append(header) }
            self = .http(url: uri, headers: headers)
        } else {
            throw FetchError.usage("unsupported URI '\(Redact.uri(uri))': use s3://, https://ACCOUNT.blob.core.windows.net/..., https:// or file://")
        }
    }

    /// The URI with credentials removed, for messages.
    public var display: String {
        switch self {
        case .s3(let l): "s3://\(l.bucket)/\(l.key)"
        case .azure(let l): "https://\(l.account).blob.core.windows.net/\(l.container)/\(l.blob)"
        case .http(let url, _): Redact.uri(url)
        case .file(let path): "file://\(path)"
        }
    }
}

/// Percent-encoding as AWS and Azure canonicalize paths and queries (RFC 3986 unreserved kept).
enum URLEncoding {
    static let unreserved = CharacterSet(charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
    static func component(_ s: String) -> String { s.addingPercentEncoding(withAllowedCharacters: unreserved) ?? s }
    static func path(_ s: String) -> String {
        s.split(separator: "/", omittingEmptySubsequences: false).map { component(String($0)) }.joined(separator: "/")
    }
    /// A query string with keys sorted, as SigV4's canonical request wants it.
    static func sortedQuery(_ items: [(String, String)]) -> String {
        items.sorted { $0.0 < $1.0 }.map { "\(component($0.0))=\(component($0.1))" }.joined(separator: "&")
    }
}

/// Keeps secrets out of output: SAS signatures, tokens and keys.
public enum Redact {
    static let secretParams: Set<String> = [
        "sig", "signature", "x-amz-signature", "x-amz-credential", "x-amz-security-token", "token", "access_token",
    ]

    public static func uri(_ uri: String) -> String {
        guard var c = URLComponents(string: uri) else { return uri }
        if c.password != nil { c.password = "REDACTED" }
        c.queryItems = c.queryItems?.map { secretParams.contains($0.name.lowercased()) ? URLQueryItem(name: $0.name, value: "REDACTED") : $0 }
        return c.string ?? uri
    }

    /// Replaces every occurrence of each secret in `text`, longest first (so a secret that
    /// contains another is replaced whole, not around the shorter one).
    public static func text(_ text: String, secrets: [String]) -> String {
        secrets.filter { $0.count >= 4 }.sorted { $0.count > $1.count }.reduce(text) { $0.replacingOccurrences(of: $1, with: "REDACTED") }
    }

    /// The secrets in `Name: value` header lines: each whole value, and each of its words (a
    /// server may echo only the token of `Bearer TOKEN`). Only the header names stay printable.
    public static func headerValues(_ headers: [String]) -> [String] {
        headers.flatMap { header -> [String] in
            let value = header.firstIndex(of: ":").map { header[header.index(after: $0)...] } ?? header[...]
            let trimmed = value.trimmingCharacters(in: .whitespaces)
            return [trimmed] + trimmed.split(whereSeparator: \.isWhitespace).map(String.init)
        }
    }
}
