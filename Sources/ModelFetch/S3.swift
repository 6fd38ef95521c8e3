import Foundation

/// An S3 object or prefix, with the endpoint, region and credentials to reach it.
///
/// Environment: `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`, `AWS_REGION` /
/// `AWS_DEFAULT_REGION`, `AWS_ENDPOINT_URL` (S3-compatible stores), `S3_ADDRESSING_STYLE`
/// (`path` or `virtual`; `path` when an endpoint is given), `S3_VERIFY_SSL`, `AWS_CA_BUNDLE`.
/// Without keys the request is anonymous (public buckets).
public struct S3Location: Equatable, Sendable {
    public var bucket: String
    public var key: String
    public var region: String
    public var endpoint: String
    public var pathStyle: Bool
    var accessKey: String?
    var secretKey: String?
    var sessionToken: String?
    var verifyTLS = true
    var caBundle: String?

    init(uri: String, environment env: [String: String]) throws {
        let rest = uri.dropFirst("s3://".count)
        guard let slash = rest.firstIndex(of: "/"), !rest[..<slash].isEmpty else {
            throw FetchError.usage("s3 URI must be s3://BUCKET/KEY or s3://BUCKET/PREFIX/")
        }
        bucket = String(rest[..<slash])
        key = String(rest[rest.index(after: slash)...])
        region = env["AWS_REGION"] ?? env["AWS_DEFAULT_REGION"] ?? "us-east-1"
        if let e = env["AWS_ENDPOINT_URL_S3"] ?? env["AWS_ENDPOINT_URL"] {
            endpoint = e.hasSuffix("/") ? String(e.dropLast()) : e
            pathStyle = env["S3_ADDRESSING_STYLE"] != "virtual"
        } else {
            endpoint = "https://s3.\(region).amazonaws.com"
            pathStyle = env["S3_ADDRESSING_STYLE"] == "path"
        }
        accessKey = env["AWS_ACCESS_KEY_ID"].flatMap { $0.isEmpty ? nil : $0 }
        secretKey = env["AWS_SECRET_ACCESS_KEY"].flatMap { $0.isEmpty ? nil : $0 }
        sessionToken = env["AWS_SESSION_TOKEN"].flatMap { $0.isEmpty ? nil : $0 }
        verifyTLS = !["0", "false"].contains(env["S3_VERIFY_SSL"]?.lowercased() ?? "1")
        caBundle = env["AWS_CA_BUNDLE"]
    }

    var secrets: [String] { [secretKey, sessionToken].compactMap { $0 } }

    /// The URL of `key` in this bucket, with an optional (already sorted) query.
    func url(key: String, query: String? = nil) -> String {
        let base: String
        if pathStyle {
            base = "\(endpoint)/\(URLEncoding.component(bucket))/\(URLEncoding.path(key))"
        } else {
            let parts = endpoint.split(separator: "/", maxSplits: 2, omittingEmptySubsequences: false)
            base = "\(parts[0])//\(bucket).\(parts[2])/\(URLEncoding.path(key))"
        }
        return query.map { "\(base)?\($0)" } ?? base
    }

    /// A signed (or anonymous) GET request.
    func request(key: String, query: String? = nil) -> CurlRequest {
        var r = CurlRequest(url: url(key: key, query: query))
        r.verifyTLS = verifyTLS
        r.caBundle = caBundle
        if let a = accessKey, let s = secretKey {
            r.awsSigV4 = ("aws:amz:\(region):s3", "\(a):\(s)")
            // libcurl 7.88 signs this header's value as the payload hash but does not add it itself.
            r.headers.append("x-amz-content-sha256: e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
            if let t = sessionToken { r.headers.append("x-amz-security-token: \(t)") }
        }
        return r
    }
}
