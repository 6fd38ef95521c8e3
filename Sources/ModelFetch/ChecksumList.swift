import Foundation
import ModelStore

/// A `SHA256SUMS` file in `sha256sum`'s format (`<64 hex>  <name>` per line, `*` instead of the
/// second space in binary mode): the objects a prefix fetch must find, and their digests. It
/// comes from the server, so its size, line count and names are all bounded and checked.
///
/// ```swift
/// let sums = try ChecksumList(Data("\(hex)  model.onnx\n".utf8), source: "s3://models/resnet/SHA256SUMS")
/// try sums.verifyCovers(["model.onnx"])  // throws for unlisted or missing objects
/// ```
public struct ChecksumList: Sendable {
    /// The object a prefix must hold (create it with `sha256sum * > SHA256SUMS`).
    public static let fileName = "SHA256SUMS"
    /// Largest SHA256SUMS accepted: 1 MiB is some 14,000 lines of 72 bytes.
    public static let maxBytes = 1 << 20
    /// Most files one SHA256SUMS may list.
    public static let maxEntries = 10_000

    /// Relative path → lowercase hex SHA-256.
    public let digests: [String: String]
    let source: String

    public init(_ data: Data, source: String) throws {
        func bad(_ why: String) -> FetchError { .integrity("\(source): \(why)") }
        guard data.count <= Self.maxBytes else { throw bad("\(data.count) bytes, more than the \(Self.maxBytes) allowed") }
        guard let text = String(data: data, encoding: .utf8) else { throw bad("not UTF-8 text") }
        var digests: [String: String] = [:]
        for (number, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.hasSuffix("\r") ? raw.dropLast() : raw
            if line.isEmpty { continue }
            guard digests.count < Self.maxEntries else { throw bad("more than \(Self.maxEntries) files listed") }
            let utf8 = Array(line.utf8)
            guard utf8.count > 66, SHA256File.isHexDigest(String(decoding: utf8[..<64], as: UTF8.self)),
                utf8[64] == UInt8(ascii: " "), utf8[65] == UInt8(ascii: " ") || utf8[65] == UInt8(ascii: "*")
            else { throw bad("line \(number + 1) is not '<64 hex digits>  <name>'") }
            let name = String(decoding: utf8[66...], as: UTF8.self)
            guard let parts = try? ArchiveTree.components(name), !parts.isEmpty else {
                throw bad("line \(number + 1) names '\(name)', which is absolute, empty or climbs out with '..'")
            }
            let path = parts.joined(separator: "/")
            guard path != Self.fileName else { throw bad("it lists itself (line \(number + 1)); regenerate it without itself") }
            guard digests.updateValue(String(decoding: utf8[..<64], as: UTF8.self).lowercased(), forKey: path) == nil else {
                throw bad("'\(path)' is listed twice")
            }
        }
        guard !digests.isEmpty else { throw bad("lists no files") }
        self.digests = digests
        self.source = source
    }

    /// Refuses if `names` (relative paths of the objects present) and the listed files differ.
    public func verifyCovers(_ names: [String]) throws {
        let present = Set(names)
        if let unlisted = names.sorted().first(where: { digests[$0] == nil }) {
            throw FetchError.integrity(
                "'\(unlisted)' is not listed in \(source), so it cannot be verified (\(present.subtracting(digests.keys).count) such objects)"
            )
        }
        if let missing = digests.keys.sorted().first(where: { !present.contains($0) }) {
            throw FetchError.integrity(
                "'\(missing)' is listed in \(source) but not present (\(Set(digests.keys).subtracting(present).count) such files)"
            )
        }
    }
}
