import Foundation

/// Fetching every object under a prefix (`s3://bucket/models/resnet/`), each verified against
/// the prefix's `SHA256SUMS`: the objects present must be exactly the files listed there, and
/// each must match its digest. All are downloaded into a staging folder inside the destination
/// and moved into place only once every one has been verified; any failure removes the staging
/// folder, so nothing unverified is left. Without SHA256SUMS the fetch is refused, unless
/// `allowUnverified` (`--allow-unverified-prefix`), which prints a warning.
///
/// ```swift
/// let files = try fetcher.fetchPrefix(uri: "s3://models/resnet/", to: URL(fileURLWithPath: "/models/resnet"))
/// ```
extension Fetcher {
    /// Fetches the objects under `uri` into `directory`, keeping their paths relative to the
    /// prefix; returns one summary per object (SHA256SUMS itself is written too, not counted).
    public func fetchPrefix(uri: String, to directory: URL, allowUnverified: Bool = false) throws -> [Summary] {
        let source = try Source(uri: uri, environment: environment)
        do {
            return try fetchPrefix(source, to: directory, allowUnverified: allowUnverified)
        } catch let e as FetchError {
            throw FetchError.redacted(e, secrets: Self.secrets(of: source))
        }
    }

    private func fetchPrefix(_ source: Source, to directory: URL, allowUnverified: Bool) throws -> [Summary] {
        let objects = try list(source)
        guard !objects.isEmpty else { throw FetchError.notFound("\(source.display): no objects under this prefix") }
        var files: [(key: String, path: String)] = []
        var sumsKey: String?
        var seen: Set<String> = []
        for (key, relative) in objects {
            guard let parts = try? ArchiveTree.components(relative), !parts.isEmpty else {
                throw FetchError.usage("object '\(key)' would land outside \(directory.path)")
            }
            let path = parts.joined(separator: "/")
            // `a.txt` and `./a.txt` are different keys but one file: refuse rather than pick one.
            guard seen.insert(path).inserted else {
                throw FetchError.integrity("two objects under \(source.display) would both be written to \(path)")
            }
            if path == ChecksumList.fileName { sumsKey = key } else { files.append((key, path)) }
        }
        var sums: (list: ChecksumList, data: Data)?
        if let sumsKey {
            let sumsSource = child(of: source, key: sumsKey)
            let data = try readSmall(sumsSource, limit: ChecksumList.maxBytes)
            let list = try ChecksumList(data, source: sumsSource.display)
            try list.verifyCovers(files.map(\.path))  // before downloading anything
            sums = (list, data)
        } else if allowUnverified {
            progress.warn(
                "\(source.display) has no \(ChecksumList.fileName): fetching its \(files.count) objects UNVERIFIED (--allow-unverified-prefix)"
            )
        } else {
            throw FetchError.usage(
                "\(source.display) holds no \(ChecksumList.fileName), so its objects cannot be verified: publish one beside them "
                    + "(`sha256sum * > \(ChecksumList.fileName)`), or pass --allow-unverified-prefix to fetch them unverified"
            )
        }

        let staging = try Staging(in: directory, name: "prefix")
        defer { staging.remove() }
        var summaries: [Summary] = []
        for (key, path) in files {
            summaries.append(
                try fetch(child(of: source, key: key), sha256: sums?.list.digests[path], to: staging.url(path), reportAs: directory.appendingPathComponent(path))
            )
        }
        var paths = files.map(\.path)
        if let sums {
            try staging.write(sums.data, as: ChecksumList.fileName)
            paths.append(ChecksumList.fileName)
        }
        try staging.commit(paths)
        return summaries
    }

    /// A small object (SHA256SUMS) in memory, refusing more than `limit` bytes.
    func readSmall(_ source: Source, limit: Int) throws -> Data {
        let tooLarge = FetchError.integrity("\(source.display) is larger than the \(limit) bytes allowed")
        guard case .file(let path) = source else {
            return try getSmall(request(for: source, range: 0), what: source.display, limit: limit, tooLarge: tooLarge)
        }
        guard let handle = FileHandle(forReadingAtPath: path) else { throw FetchError.notFound(source.display) }
        defer { try? handle.close() }
        let data = try handle.read(upToCount: limit + 1) ?? Data()
        guard data.count <= limit else { throw tooLarge }
        return data
    }

    /// The object at `key` in the same bucket, container or file system as `source` (an https
    /// source has no keys: it is returned as it is).
    func child(of source: Source, key: String) -> Source {
        switch source {
        case .s3(var l):
            l.key = key
            return .s3(l)
        case .azure(var l):
            l.blob = key
            return .azure(l)
        case .file: return .file(path: key)
        case .http: return source
        }
    }
}
