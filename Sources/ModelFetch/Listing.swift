import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif

/// Objects under a prefix: S3 ListObjectsV2 (paginated) and Azure List Blobs (paginated).
extension Fetcher {
    /// Keys under `prefix`, each relative to it, fetched into `directory` keeping relative paths.
    public func fetchPrefix(uri: String, to directory: URL) throws -> [Summary] {
        let source = try Source(uri: uri, environment: environment)
        do {
            let keys = try list(source)
            guard !keys.isEmpty else { throw FetchError.notFound("\(source.display): no objects under this prefix") }
            return try keys.map { key, relative in
                guard let target = Archive.safeDestination(directory, relative) else {
                    throw FetchError.usage("object '\(key)' would land outside \(directory.path)")
                }
                return try fetch(child(of: source, key: key), sha256: nil, to: target)
            }
        } catch let e as FetchError {
            throw FetchError.redacted(e, secrets: Self.secrets(of: source))
        }
    }

    /// (full key, key relative to the prefix) for every object under the source's prefix.
    func list(_ source: Source) throws -> [(String, String)] {
        switch source {
        case .s3(let s3):
            var keys: [String] = [], token: String?
            repeat {
                var query = [("list-type", "2"), ("prefix", s3.key)]
                if let token { query.append(("continuation-token", token)) }
                let page = try listPage(s3.request(key: "", query: URLEncoding.sortedQuery(query)), source: source,
                                        item: "Key", next: "NextContinuationToken")
                keys += page.items
                token = page.next
            } while token != nil
            return keys.filter { !$0.hasSuffix("/") }.map { ($0, String($0.dropFirst(s3.key.count))) }
        case .azure(let az):
            var keys: [String] = [], marker: String?
            repeat {
                var query = [("comp", "list"), ("prefix", az.blob), ("restype", "container")]
                if let marker { query.append(("marker", marker)) }
                let page = try listPage(az.request(path: az.container, query: query), source: source, item: "Name", next: "NextMarker")
                keys += page.items
                marker = page.next
            } while marker != nil
            return keys.map { ($0, String($0.dropFirst(az.blob.count))) }
        case .file(let path):
            let root = URL(fileURLWithPath: path)
            let files = FileManager.default.enumerator(at: root, includingPropertiesForKeys: [.isRegularFileKey])?
                .compactMap { $0 as? URL }.filter { (try? $0.resourceValues(forKeys: [.isRegularFileKey]).isRegularFile) == true } ?? []
            return files.map { ($0.path, String($0.path.dropFirst(root.path.count)).trimmingCharacters(in: CharacterSet(charactersIn: "/"))) }
        case .http:
            throw FetchError.usage("https:// prefixes cannot be listed; name each file")
        }
    }

    func child(of source: Source, key: String) -> Source {
        switch source {
        case .s3(var l): l.key = key; return .s3(l)
        case .azure(var l): l.blob = key; return .azure(l)
        case .file: return .file(path: key)
        case .http: return source
        }
    }

    private func listPage(_ request: CurlRequest, source: Source, item: String, next: String) throws -> (items: [String], next: String?) {
        var attempt = 0
        while true {
            attempt += 1
            let sink = MemorySink()
            let (response, errorBody) = Curl.get(request, sink: sink)
            switch response.status {
            case 200 where response.curlError == nil:
                let parsed = XMLValues(data: sink.data, names: [item, next])
                let token = parsed.values[next]?.first.flatMap { $0.isEmpty ? nil : $0 }
                return (parsed.values[item] ?? [], token)
            case 401, 403: throw FetchError.credentials("listing \(source.display): HTTP \(response.status) \(Self.errorCode(errorBody))")
            case 404: throw FetchError.notFound("listing \(source.display): HTTP 404 \(Self.errorCode(errorBody))")
            default:
                guard attempt < options.maxAttempts else {
                    throw FetchError.transfer("listing \(source.display): \(response.curlError ?? "HTTP \(response.status)")")
                }
                Thread.sleep(forTimeInterval: min(options.maxBackoff, options.baseBackoff * pow(2, Double(attempt - 1))))
            }
        }
    }
}

/// Collects the text of elements with the given names, in document order.
final class XMLValues: NSObject, XMLParserDelegate {
    private(set) var values: [String: [String]] = [:]
    private let names: Set<String>
    private var current: String?
    private var text = ""

    init(data: Data, names: Set<String>) {
        self.names = names
        super.init()
        let parser = XMLParser(data: data)
        parser.delegate = self
        parser.parse()
    }

    func parser(_ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?, attributes: [String: String] = [:]) {
        if names.contains(name) { current = name; text = "" }
    }

    func parser(_ parser: XMLParser, foundCharacters string: String) {
        if current != nil { text += string }
    }

    func parser(_ parser: XMLParser, didEndElement name: String, namespaceURI: String?, qualifiedName: String?) {
        if name == current {
            values[name, default: []].append(text)
            current = nil
        }
    }
}
