import Crypto
import Foundation

/// A model on disk: a folder holding `model.json`, the artifact it names, and its labels.
///
/// ```swift
/// let dir = try ModelDirectory(URL(fileURLWithPath: "/models/efficientnet-lite0"))
/// try dir.verify()                // the artifact's (and labels') SHA-256 match the manifest
/// print(dir.labels[967])          // "n07920052 espresso"
/// ```
public struct ModelDirectory: Sendable {
    public let url: URL
    public let manifest: ModelManifest
    /// Class labels in index order; empty when the manifest names none.
    public let labels: [String]

    public var artifactURL: URL { url.appendingPathComponent(manifest.artifact.file) }

    public init(_ url: URL) throws {
        self.url = url
        manifest = try ModelManifest(contentsOf: url.appendingPathComponent("model.json"))
        if let file = manifest.labels {
            let labelsURL = url.appendingPathComponent(file)
            guard let text = try? String(contentsOf: labelsURL, encoding: .utf8) else {
                throw ModelStoreError.missing("labels file \(labelsURL.path)")
            }
            labels = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init).filter { !$0.isEmpty }
        } else {
            labels = []
        }
    }

    /// Throws unless the artifact exists and its SHA-256 equals the manifest's, and (when the
    /// manifest gives `labels_sha256`) the labels file's does too.
    public func verify() throws {
        guard FileManager.default.fileExists(atPath: artifactURL.path) else {
            throw ModelStoreError.missing("artifact \(artifactURL.path) (build or fetch it first)")
        }
        var checks = [(artifactURL, manifest.artifact.sha256)]
        if let file = manifest.labels, let digest = manifest.labelsSHA256 { checks.append((url.appendingPathComponent(file), digest)) }
        for (file, expected) in checks {
            let actual = try SHA256File.digest(of: file)
            guard actual == expected.lowercased() else {
                throw ModelStoreError.checksumMismatch(file: file.path, expected: expected.lowercased(), actual: actual)
            }
        }
    }
}

/// Streaming SHA-256 of files (swift-crypto).
public enum SHA256File {
    /// Lower-case hex digest of the file at `url`, read in 1 MiB chunks.
    public static func digest(of url: URL) throws -> String {
        let handle = try FileHandle(forReadingFrom: url)
        defer { try? handle.close() }
        var hasher = SHA256()
        while let chunk = try handle.read(upToCount: 1 << 20), !chunk.isEmpty { hasher.update(data: chunk) }
        return hex(hasher.finalize())
    }

    public static func hex<D: Sequence>(_ digest: D) -> String where D.Element == UInt8 {
        digest.map { String(format: "%02x", $0) }.joined()
    }

    /// True for 64 ASCII hex digits (either case): the only form a SHA-256 is accepted in.
    public static func isHexDigest(_ s: String) -> Bool {
        s.utf8.count == 64 && s.utf8.allSatisfy { (0x30...0x39).contains($0) || (0x41...0x46).contains($0) || (0x61...0x66).contains($0) }
    }
}
