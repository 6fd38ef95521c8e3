import Foundation

/// Objects under a prefix: S3 ListObjectsV2 and Azure List Blobs, both paginated by a token the
/// server hands out. The server decides how many pages and keys there are, so a listing stops
/// at a token it has seen before, at `Options.maxListPages` pages, at `Options.maxListKeys` keys
/// and at a page over `maxListPageBytes`: a broken or hostile server cannot make it loop forever
/// or grow without bound.
///
/// ```swift
/// for (key, relative) in try fetcher.list(try Source(uri: "s3://models/resnet/", environment: env)) { print(key, relative) }
/// ```
extension Fetcher {
    /// Largest listing page read into memory (an S3 page of 1,000 keys is about 300 KB, an Azure page of 5,000 blobs about 5 MB).
    static let maxListPageBytes = 32 << 20
    /// Longest continuation token or marker accepted (S3's and Azure's are a few hundred bytes).
    static let maxListTokenBytes = 8 << 10

    /// (full key, key relative to the prefix) for every object under the source's prefix.
    func list(_ source: Source) throws -> [(String, String)] {
        switch source {
        case .s3(let s3):
            let keys = try paginate(source, item: "Key", next: "NextContinuationToken") { token in
                var query = [("list-type", "2"), ("prefix", s3.key)]
                if let token { query.append(("continuation-token", token)) }
                return s3.request(key: "", query: URLEncoding.sortedQuery(query))
            }
            return keys.filter { !$0.hasSuffix("/") }.map { ($0, String($0.dropFirst(s3.key.count))) }
        case .azure(let az):
            let keys = try paginate(source, item: "Name", next: "NextMarker") { marker in
                var query = [("comp", "list"), ("prefix", az.blob), ("restype", "container")]
                if let marker { query.append(("marker", marker)) }
                return az.request(path: az.container, query: query)
            }
            return keys.filter { !$0.hasSuffix("/") }.map { ($0, String($0.dropFirst(az.blob.count))) }
        case .file(let path):
            let root = URL(fileURLWithPath: path)
            let files =
                FileManager.default.enumerator(at: root, includingPropertiesForKeys: [.isRegularFileKey])?
                .compactMap { $0 as? URL }.filter { (try? $0.resourceValues(forKeys: [.isRegularFileKey]).isRegularFile) == true } ?? []
            return files.map { ($0.path, String($0.path.dropFirst(root.path.count)).trimmingCharacters(in: CharacterSet(charactersIn: "/"))) }
        case .http:
            throw FetchError.usage("https:// prefixes cannot be listed; name each file")
        }
    }

    /// Follows the listing's tokens from the first page to the last, within the limits above.
    private func paginate(_ source: Source, item: String, next: String, request: (String?) -> CurlRequest) throws -> [String] {
        var keys: [String] = []
        var token: String?
        var seen: Set<String> = []
        var pages = 0
        repeat {
            pages += 1
            guard pages <= options.maxListPages else {
                throw FetchError.transfer("listing \(source.display): still not finished after \(options.maxListPages) pages; giving up")
            }
            let what = "listing \(source.display)"
            let body = try getSmall(
                request(token),
                what: what,
                limit: Self.maxListPageBytes,
                tooLarge: FetchError.transfer("\(what): page \(pages) is larger than the \(Self.maxListPageBytes) bytes allowed")
            )
            let parsed = XMLValues(data: body, names: [item, next])
            guard parsed.valid else { throw FetchError.transfer("listing \(source.display): page \(pages) is not valid XML") }
            let items = parsed.values[item] ?? []
            guard items.count <= options.maxListKeys - keys.count else {
                throw FetchError.transfer("listing \(source.display): more than \(options.maxListKeys) objects under this prefix")
            }
            keys += items
            token = parsed.values[next]?.first.flatMap { $0.isEmpty ? nil : $0 }
            if let token {
                guard token.utf8.count <= Self.maxListTokenBytes else {
                    throw FetchError.transfer(
                        "listing \(source.display): a continuation token of \(token.utf8.count) bytes (at most \(Self.maxListTokenBytes) accepted)"
                    )
                }
                guard seen.insert(token).inserted else {
                    throw FetchError.transfer(
                        "listing \(source.display): page \(pages) repeats an earlier continuation token; the listing would never end"
                    )
                }
            }
        } while token != nil
        return keys
    }

    /// GETs a small document (a listing page, SHA256SUMS) into memory, failing with `tooLarge`
    /// past `limit` bytes; retries 5xx, 429 and dropped connections like a download.
    func getSmall(_ request: CurlRequest, what: String, limit: Int, tooLarge: FetchError) throws -> Data {
        var attempt = 0
        while true {
            attempt += 1
            let sink = MemorySink(limit: limit)
            let (response, errorBody) = Curl.get(request, sink: sink)
            if sink.overflowed { throw tooLarge }
            switch response.status {
            case 200 where response.curlError == nil: return sink.data
            case 401, 403: throw FetchError.credentials("\(what): HTTP \(response.status) \(Self.errorCode(errorBody))")
            case 404: throw FetchError.notFound("\(what): HTTP 404 \(Self.errorCode(errorBody))")
            default:
                guard attempt < options.maxAttempts else { throw FetchError.transfer("\(what): \(response.curlError ?? "HTTP \(response.status)")") }
                Thread.sleep(forTimeInterval: min(options.maxBackoff, options.baseBackoff * pow(2, Double(attempt - 1))))
            }
        }
    }
}
