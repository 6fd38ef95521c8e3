import Crypto
import Foundation

/// An Azure blob or prefix, with the SAS token or Shared Key to reach it.
///
/// Environment: `AZURE_STORAGE_SAS_TOKEN` (or a SAS in the URI's query), `AZURE_STORAGE_ACCOUNT` +
/// `AZURE_STORAGE_KEY` (Shared Key), or `AZURE_STORAGE_CONNECTION_STRING` (`AccountName`,
/// `AccountKey`, `SharedAccessSignature`, and `BlobEndpoint` for a custom endpoint).
public struct AzureLocation: Equatable, Sendable {
    public var account: String
    public var container: String
    public var blob: String
    /// Scheme, host and base path requests go to (the account's, or the connection string's BlobEndpoint).
    public var endpoint: String
    var sas: String?
    var accountKey: String?

    init(url: URL, environment env: [String: String]) throws {
        account = String(url.host!.split(separator: ".")[0])
        let path = url.path.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: true)
        guard let first = path.first else { throw FetchError.usage("Azure URI must be https://ACCOUNT.blob.core.windows.net/CONTAINER/BLOB") }
        container = String(first)
        blob = path.count > 1 ? String(path[1]) : ""
        if url.absoluteString.hasSuffix("/") && !blob.isEmpty && !blob.hasSuffix("/") { blob += "/" }
        endpoint = "\(url.scheme!)://\(url.host!)"
        var conn: [String: String] = [:]
        for part in (env["AZURE_STORAGE_CONNECTION_STRING"] ?? "").split(separator: ";") {
            if let eq = part.firstIndex(of: "=") { conn[String(part[..<eq])] = String(part[part.index(after: eq)...]) }
        }
        if let e = conn["BlobEndpoint"] { endpoint = e.hasSuffix("/") ? String(e.dropLast()) : e }
        if let name = conn["AccountName"] ?? env["AZURE_STORAGE_ACCOUNT"], conn["BlobEndpoint"] == nil || conn["AccountName"] != nil {
            account = name
        }
        accountKey = conn["AccountKey"] ?? env["AZURE_STORAGE_KEY"] ?? env["AZURE_STORAGE_ACCESS_KEY"]
        let query = URLComponents(url: url, resolvingAgainstBaseURL: false)?.percentEncodedQuery
        sas = [query, env["AZURE_STORAGE_SAS_TOKEN"], conn["SharedAccessSignature"]]
            .compactMap { $0 }.first { !$0.isEmpty }.map { $0.hasPrefix("?") ? String($0.dropFirst()) : $0 }
        if sas != nil { accountKey = nil }
    }

    var secrets: [String] {
        var s = [accountKey].compactMap { $0 }
        if let sas { s += sas.split(separator: "&").filter { $0.hasPrefix("sig=") }.map { String($0.dropFirst(4)) } }
        return s
    }

    /// A GET for `path` under the endpoint (e.g. "container/blob") with extra query items, signed.
    func request(path: String, query: [(String, String)] = [], range: Int64 = 0, date: Date = Date()) -> CurlRequest {
        var items = query
        var url = "\(endpoint)/\(URLEncoding.path(path))"
        var queryString = query.isEmpty ? "" : query.map { "\(URLEncoding.component($0.0))=\(URLEncoding.component($0.1))" }.joined(separator: "&")
        if let sas {
            queryString = queryString.isEmpty ? sas : "\(queryString)&\(sas)"
            items = []
        }
        if !queryString.isEmpty { url += "?\(queryString)" }
        var headers = ["x-ms-version: 2021-08-06", "x-ms-date: \(Self.httpDate(date))"]
        if range > 0 { headers.append("x-ms-range: bytes=\(range)-") }
        if let key = accountKey, sas == nil {
            let resourcePath = URL(string: url)?.path ?? "/\(path)"
            headers.append(
                "Authorization: SharedKey \(account):\(Self.sign(headers: headers, resourcePath: resourcePath, query: items, account: account, key: key))"
            )
        }
        var r = CurlRequest(url: url, headers: headers)
        r.rangeStart = 0  // Azure gets x-ms-range (signed) instead of Range.
        return r
    }

    /// The Shared Key signature of a GET with these `x-ms-*` headers.
    static func sign(headers: [String], resourcePath: String, query: [(String, String)], account: String, key: String) -> String {
        let msHeaders = headers.compactMap { h -> (String, String)? in
            guard let colon = h.firstIndex(of: ":") else { return nil }
            let name = h[..<colon].lowercased()
            return name.hasPrefix("x-ms-") ? (name, h[h.index(after: colon)...].trimmingCharacters(in: .whitespaces)) : nil
        }.sorted { $0.0 < $1.0 }
        var resource = "/\(account)\(resourcePath)"
        let grouped = Dictionary(grouping: query, by: { $0.0.lowercased() })
        for name in grouped.keys.sorted() { resource += "\n\(name):\(grouped[name]!.map(\.1).sorted().joined(separator: ","))" }
        // VERB, then Content-Encoding … Range (11 standard headers, all empty for our GETs).
        let stringToSign = "GET\n" + String(repeating: "\n", count: 11) + msHeaders.map { "\($0.0):\($0.1)\n" }.joined() + resource
        let keyData = Data(base64Encoded: key) ?? Data()
        let mac = HMAC<SHA256>.authenticationCode(for: Data(stringToSign.utf8), using: SymmetricKey(data: keyData))
        return Data(mac).base64EncodedString()
    }

    static func httpDate(_ date: Date) -> String {
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.timeZone = TimeZone(identifier: "GMT")
        f.dateFormat = "EEE, dd MMM yyyy HH:mm:ss 'GMT'"
        return f.string(from: date)
    }
}
