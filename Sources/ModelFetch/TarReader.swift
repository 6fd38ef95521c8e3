import Foundation

/// Reads ustar, GNU and pax tar headers from an inflating stream, one entry at a time. Every
/// number in a header is treated as hostile: sizes are parsed with overflow checks, and the
/// extended headers held in memory (GNU long names, pax records) are bounded.
///
/// ```swift
/// let tar = TarReader(InflatedBytes(try Inflater(url)))
/// while let entry = try tar.next() { _ = try tar.data(of: entry) { write($0) } }
/// ```
final class TarReader {
    enum Kind: Equatable { case file, directory, symlink, hardlink }
    struct Entry {
        var name: String
        var kind: Kind
        var size: Int64
        /// Symlink target, or for a hard link the archive path of the file it names.
        var linkTarget: String
    }

    /// Largest GNU long-name or pax extended header kept in memory.
    static let maxExtendedHeader = 1 << 20
    private let bytes: InflatedBytes
    private var pendingData: Int64 = 0

    init(_ bytes: InflatedBytes) { self.bytes = bytes }

    /// The next file, directory or link; nil at the end-of-archive block.
    func next() throws -> Entry? {
        try skip(pendingData)
        var longName: String?
        var longLink: String?
        var paxSize: Int64?
        while true {
            guard let header = try bytes.read(exactly: 512) else {
                // Some writers omit the end-of-archive blocks; a header cut in half is corrupt.
                guard bytes.buffered == 0 && longName == nil && longLink == nil && paxSize == nil else {
                    throw FetchError.archive("tar stream is truncated")
                }
                return nil
            }
            let h = [UInt8](header)
            if h.allSatisfy({ $0 == 0 }) { return nil }
            try TarHeader.verifyChecksum(h)
            let type = h[156]
            let size = try TarHeader.number(h[124..<136], field: "size")
            switch type {
            case UInt8(ascii: "L"), UInt8(ascii: "K"):  // GNU long name / long link target for the next entry
                let text = TarHeader.string(try extended(size))
                if type == UInt8(ascii: "L") { longName = text } else { longLink = text }
            case UInt8(ascii: "x"):  // pax extended header for the next entry
                let records = try TarHeader.paxRecords(try extended(size))
                if let p = records["path"] { longName = p }
                if let l = records["linkpath"] { longLink = l }
                if let s = records["size"] {
                    guard let n = Int64(s), n >= 0 else { throw FetchError.archive("pax size '\(s)' is not a size") }
                    paxSize = n
                }
            case UInt8(ascii: "g"):  // pax global header: nothing in it changes where files go
                try skip(try TarHeader.padded(size))
            default:
                let name = longName ?? TarHeader.name(h)
                let link = longLink ?? TarHeader.string(header[157..<257])
                let kind: Kind
                switch type {
                case 0, UInt8(ascii: "0"), UInt8(ascii: "7"): kind = .file
                case UInt8(ascii: "5"): kind = .directory
                case UInt8(ascii: "2"): kind = .symlink
                case UInt8(ascii: "1"): kind = .hardlink
                default:
                    throw FetchError.archive(
                        "entry '\(name)' has unsupported type '\(Character(UnicodeScalar(type)))' (devices, FIFOs and sparse files are refused)"
                    )
                }
                // Only a regular file's bytes are kept; anything else a header claims to carry is skipped.
                let dataSize = paxSize ?? size
                pendingData = try TarHeader.padded(dataSize)
                return Entry(name: name, kind: kind, size: kind == .file ? dataSize : 0, linkTarget: link)
            }
        }
    }

    /// Streams the bytes of `entry` (a file) to `emit`, then positions at the next header.
    func data(of entry: Entry, _ emit: (Data) throws -> Void) throws {
        guard try bytes.stream(entry.size, emit) else { throw FetchError.archive("entry '\(entry.name)' is truncated") }
        pendingData -= entry.size
        try skip(pendingData)
        pendingData = 0
    }

    private func extended(_ size: Int64) throws -> Data {
        guard size <= Self.maxExtendedHeader else {
            throw FetchError.archive("an extended tar header of \(size) bytes is larger than the \(Self.maxExtendedHeader) allowed")
        }
        guard let data = try bytes.read(exactly: Int(size)) else { throw FetchError.archive("an extended tar header is truncated") }
        try skip(try TarHeader.padded(size) - size)
        return data
    }

    private func skip(_ count: Int64) throws {
        guard try bytes.stream(count, { _ in }) else { throw FetchError.archive("tar data is truncated") }
        pendingData = 0
    }
}
