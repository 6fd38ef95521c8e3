import Crypto
import Foundation
import ModelStore

/// A model version in a store (a *release*), as the store's `latest` pointer (or a version's
/// `model.json`) names it.
///
/// The store layout (written by `pipeline/publish.py`):
///
///     PREFIX/NAME/VERSION/model.json     the manifest: artifact.sha256, labels_sha256
///     PREFIX/NAME/VERSION/model.onnx     the artifact it names
///     PREFIX/NAME/VERSION/labels.txt     its labels
///     PREFIX/NAME/latest                 {"name", "version", "manifest_sha256"}, moved last
///
/// Each link is verified by a digest the one before it holds: pointer → manifest → files. A
/// caller pins a release by its manifest's digest (everything: artifact, labels, preprocessing)
/// or by the artifact's.
///
/// ```swift
/// let release = try fetcher.resolve(release: "s3://store/models/resnet/latest")
/// try fetcher.fetch(release: release.manifest, into: dir, pin: .init(manifestSHA256: release.manifestSHA256))
/// ```
public struct Release: Codable, Sendable, Equatable {
    public var name: String
    public var version: String
    /// The artifact's SHA-256 (the manifest's `artifact.sha256`): what a build pins.
    public var sha256: String
    /// SHA-256 of the version's `model.json`.
    public var manifestSHA256: String
    /// Where that `model.json` is (credentials removed).
    public var manifest: String

    enum CodingKeys: String, CodingKey {
        case name, version, sha256, manifest
        case manifestSHA256 = "manifest_sha256"
    }
}

/// What a caller expects a release to be; a store that now holds another fails the fetch
/// (`.integrity`, exit 5) before any artifact is downloaded.
public struct ReleasePin: Sendable, Equatable {
    /// The artifact's SHA-256.
    public var sha256: String?
    /// The manifest's SHA-256: pins the whole release.
    public var manifestSHA256: String?

    public init(sha256: String? = nil, manifestSHA256: String? = nil) {
        self.sha256 = sha256?.lowercased()
        self.manifestSHA256 = manifestSHA256?.lowercased()
    }
}

/// The `latest` object: which version is current, and the digest of its manifest.
struct ReleasePointer: Codable {
    var name: String
    var version: String
    var manifestSHA256: String

    enum CodingKeys: String, CodingKey {
        case name, version
        case manifestSHA256 = "manifest_sha256"
    }

    /// Most bytes a pointer may have; it is a few lines of JSON.
    static let maxBytes = 64 << 10
}

extension Fetcher {
    /// Most bytes a store's `model.json` may have.
    static let maxManifestBytes = 1 << 20
    /// Most bytes a labels file may have (the server reads it into memory).
    static let maxLabelsBytes: Int64 = 16 << 20

    /// Reads the pointer (or manifest) at `uri` and the manifest it names, verified, without
    /// fetching the files.
    public func resolve(release uri: String, pin: ReleasePin = .init()) throws -> Release {
        let source = try Source(uri: uri, environment: environment)
        do {
            return try resolve(source, pin: pin).release
        } catch let e as FetchError {
            throw FetchError.redacted(e, secrets: Self.secrets(of: source))
        }
    }

    /// Fetches the release `uri` names into `directory`: every file its manifest names, each
    /// verified against the manifest's digests (and the artifact bounded by its size), staged,
    /// and moved into place only when all are verified (`model.json` last), so a failed fetch
    /// leaves no file behind.
    public func fetch(release uri: String, into directory: URL, pin: ReleasePin = .init()) throws -> Release {
        let source = try Source(uri: uri, environment: environment)
        do {
            let (release, manifest, manifestSource, manifestData) = try resolve(source, pin: pin)
            var files = [(manifest.artifact.file, manifest.artifact.sha256, manifest.artifact.size)]
            if let labels = manifest.labels, let digest = manifest.labelsSHA256 { files.append((labels, digest, Self.maxLabelsBytes)) }
            let staging = try Staging(in: directory, name: "release")
            defer { staging.remove() }
            for (file, digest, maxBytes) in files {
                _ = try fetch(
                    try sibling(of: manifestSource, file),
                    sha256: digest,
                    to: staging.url(file),
                    reportAs: directory.appendingPathComponent(file),
                    maxBytes: maxBytes
                )
            }
            try staging.write(manifestData, as: "model.json")
            try staging.commit(files.map(\.0) + ["model.json"])
            return release
        } catch let e as FetchError {
            throw FetchError.redacted(e, secrets: Self.secrets(of: source))
        }
    }

    private func resolve(_ source: Source, pin: ReleasePin) throws -> (
        release: Release, manifest: ModelManifest, source: Source, data: Data
    ) {
        var manifestSource = source
        var pointer: ReleasePointer?
        if !Self.path(of: source).hasSuffix(".json") {
            let data = try readSmall(source, limit: ReleasePointer.maxBytes)
            guard let p = try? JSONDecoder().decode(ReleasePointer.self, from: data) else {
                throw FetchError.integrity(
                    "\(source.display) is not a release pointer ({\"name\", \"version\", \"manifest_sha256\"}); give a version's model.json instead"
                )
            }
            for (field, value) in [("name", p.name), ("version", p.version)] where !Self.isPathSegment(value) {
                throw FetchError.integrity("\(source.display): \(field) '\(Self.printable(value))' is not a plain name ([A-Za-z0-9._-], at most 64)")
            }
            guard SHA256File.isHexDigest(p.manifestSHA256) else { throw FetchError.integrity("\(source.display): manifest_sha256 must be 64 hex digits") }
            manifestSource = try sibling(of: source, "\(p.version)/model.json")
            pointer = p
        }
        let data = try readSmall(manifestSource, limit: Self.maxManifestBytes)
        let digest = SHA256File.hex(SHA256.hash(data: data))
        if let pointer, digest != pointer.manifestSHA256.lowercased() {
            throw FetchError.checksumMismatch(file: manifestSource.display, expected: pointer.manifestSHA256.lowercased(), actual: digest)
        }
        let manifest: ModelManifest
        do { manifest = try ModelManifest(data: data, origin: manifestSource.display) } catch { throw FetchError.integrity("\(error)") }
        if let pointer, pointer.name != manifest.name || pointer.version != manifest.version {
            throw FetchError.integrity(
                "\(source.display) names \(pointer.name) \(pointer.version), but its manifest is \(manifest.name) \(manifest.version)"
            )
        }
        if manifest.labels != nil && manifest.labelsSHA256 == nil {
            throw FetchError.integrity("\(manifestSource.display) names labels without labels_sha256, so they cannot be verified")
        }
        let release = Release(
            name: manifest.name,
            version: manifest.version,
            sha256: manifest.artifact.sha256.lowercased(),
            manifestSHA256: digest,
            manifest: manifestSource.display
        )
        if let want = pin.manifestSHA256, want != release.manifestSHA256 {
            throw FetchError.integrity(
                "the build pins manifest sha256 \(want), but \(source.display) is now \(release.name) \(release.version) "
                    + "with manifest sha256 \(release.manifestSHA256): the store changed since the pin"
            )
        }
        if let want = pin.sha256, want != release.sha256 {
            throw FetchError.integrity(
                "the build pins model sha256 \(want), but \(source.display) is now \(release.name) \(release.version) "
                    + "with sha256 \(release.sha256): the store changed since the pin"
            )
        }
        return (release, manifest, manifestSource, data)
    }

    /// `path` resolved against the folder holding `source` (`.../NAME/latest` + `2/model.json`).
    func sibling(of source: Source, _ path: String) throws -> Source {
        guard case .http(let url, let headers) = source else {
            let key = Self.path(of: source)
            return child(of: source, key: (key.lastIndex(of: "/").map { String(key[...$0]) } ?? "") + path)
        }
        guard let resolved = URL(string: url).flatMap({ URL(string: path, relativeTo: $0)?.absoluteString }) else {
            throw FetchError.integrity("'\(Self.printable(path))' cannot be resolved against \(source.display)")
        }
        return .http(url: resolved, headers: headers)
    }

    /// The object's key or path, without any query.
    static func path(of source: Source) -> String {
        switch source {
        case .s3(let l): l.key
        case .azure(let l): l.blob
        case .file(let p): p
        case .http(let url, _): URL(string: url)?.path ?? url
        }
    }

    /// A name or version as the store layout allows it: `[A-Za-z0-9][A-Za-z0-9._-]{0,63}`, so it
    /// can never climb out of its folder.
    static func isPathSegment(_ s: String) -> Bool {
        func alnum(_ c: UInt8) -> Bool { (0x30...0x39).contains(c) || (0x41...0x5A).contains(c) || (0x61...0x7A).contains(c) }
        let bytes = Array(s.utf8)
        guard (1...64).contains(bytes.count), alnum(bytes[0]) else { return false }
        return bytes.allSatisfy { alnum($0) || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: "-") }
    }

    /// At most 64 printable ASCII characters of a store-supplied value, for a message: a newline
    /// in a CI log could forge one of the CI system's commands.
    static func printable(_ s: String) -> String {
        String(String.UnicodeScalarView(s.unicodeScalars.prefix(64).map { (0x20..<0x7F).contains($0.value) ? $0 : "?" }))
    }
}
