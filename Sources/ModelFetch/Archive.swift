import CZlib
import Foundation

/// Unpacks `.gz` and `.tar.gz`/`.tgz` downloads without ever writing outside the destination.
public enum Archive {
    /// `relative` inside `directory`, or nil if it is absolute, empty, or climbs out with `..`.
    static func safeDestination(_ directory: URL, _ relative: String) -> URL? {
        let parts = relative.split(separator: "/").filter { $0 != "." }
        guard !relative.hasPrefix("/"), !parts.isEmpty, !parts.contains("..") else { return nil }
        return parts.reduce(directory) { $0.appendingPathComponent(String($1)) }
    }

    /// Resolves `.` and `..` in a relative path; nil if it is absolute or climbs above its root.
    static func normalize(_ relative: String) -> String? {
        guard !relative.hasPrefix("/") else { return nil }
        var stack: [Substring] = []
        for part in relative.split(separator: "/") where part != "." {
            if part == ".." {
                guard !stack.isEmpty else { return nil }
                stack.removeLast()
            } else {
                stack.append(part)
            }
        }
        return stack.joined(separator: "/")
    }

    /// Inflates a gzip file into `output` (written to a temporary name, then renamed).
    public static func gunzip(_ input: URL, to output: URL) throws {
        let temp = output.deletingLastPathComponent().appendingPathComponent(".\(output.lastPathComponent).partial-\(getpid())")
        defer { unlink(temp.path) }
        FileManager.default.createFile(atPath: temp.path, contents: nil)
        guard let out = FileHandle(forWritingAtPath: temp.path) else { throw FetchError.archive("cannot create \(temp.path)") }
        try inflate(input) { try out.write(contentsOf: $0) }
        try out.synchronize()
        try out.close()
        guard rename(temp.path, output.path) == 0 else { throw FetchError.archive("cannot move \(output.path) into place") }
    }

    /// Unpacks a gzipped tar into `directory`. Absolute paths, `..`, links leaving the directory,
    /// hard links and device files are refused; nothing is extracted if the archive is refused.
    public static func untar(_ input: URL, into directory: URL) throws -> [String] {
        var tar = Data()
        try inflate(input) { tar.append($0) }
        let entries = try TarReader.entries(tar)
        // Check every entry before writing anything, so a refused archive leaves nothing behind.
        for e in entries {
            guard safeDestination(directory, e.name) != nil else { throw FetchError.archive("entry '\(e.name)' would land outside \(directory.path)") }
            if e.kind == .symlink {
                let parent = e.name.split(separator: "/").dropLast().joined(separator: "/")
                guard normalize(parent.isEmpty ? e.linkTarget : "\(parent)/\(e.linkTarget)") != nil else {
                    throw FetchError.archive("link '\(e.name)' -> '\(e.linkTarget)' points outside \(directory.path)")
                }
            }
        }
        var written: [String] = []
        for e in entries {
            let target = safeDestination(directory, e.name)!
            switch e.kind {
            case .directory: try FileManager.default.createDirectory(at: target, withIntermediateDirectories: true)
            case .file:
                try FileManager.default.createDirectory(at: target.deletingLastPathComponent(), withIntermediateDirectories: true)
                try tar.subdata(in: e.range).write(to: target, options: .atomic)
                written.append(e.name)
            case .symlink:
                try FileManager.default.createDirectory(at: target.deletingLastPathComponent(), withIntermediateDirectories: true)
                try? FileManager.default.removeItem(at: target)
                try FileManager.default.createSymbolicLink(atPath: target.path, withDestinationPath: e.linkTarget)
            }
        }
        return written
    }

    private static func inflate(_ input: URL, _ emit: (Data) throws -> Void) throws {
        guard let handle = FileHandle(forReadingAtPath: input.path) else { throw FetchError.archive("cannot read \(input.path)") }
        defer { try? handle.close() }
        var stream = z_stream()
        guard inflateInit2_(&stream, 15 + 32, zlibVersion(), Int32(MemoryLayout<z_stream>.size)) == Z_OK else { throw FetchError.archive("zlib init failed") }
        defer { inflateEnd(&stream) }
        var out = [UInt8](repeating: 0, count: 1 << 20)
        var status = Z_OK
        while status != Z_STREAM_END {
            guard var chunk = try handle.read(upToCount: 1 << 20), !chunk.isEmpty else { throw FetchError.archive("\(input.lastPathComponent) is truncated") }
            try chunk.withUnsafeMutableBytes { (inBuf: UnsafeMutableRawBufferPointer) in
                stream.next_in = inBuf.baseAddress!.assumingMemoryBound(to: Bytef.self)
                stream.avail_in = uInt(inBuf.count)
                repeat {
                    try out.withUnsafeMutableBufferPointer { o in
                        stream.next_out = o.baseAddress
                        stream.avail_out = uInt(o.count)
                        status = CZlib.inflate(&stream, Z_NO_FLUSH)
                        guard status == Z_OK || status == Z_STREAM_END || status == Z_BUF_ERROR else {
                            throw FetchError.archive("\(input.lastPathComponent) is not valid gzip data (zlib \(status))")
                        }
                        try emit(Data(o[0..<(o.count - Int(stream.avail_out))]))
                    }
                } while stream.avail_out == 0 && status != Z_STREAM_END
            }
        }
    }
}

/// Reads ustar/GNU/pax tar entries from memory.
enum TarReader {
    enum Kind { case file, directory, symlink }
    struct Entry {
        var name: String
        var kind: Kind
        var range: Range<Int>
        var linkTarget: String
    }

    static func entries(_ tar: Data) throws -> [Entry] {
        var out: [Entry] = []
        var offset = 0
        var longName: String?
        let bytes = [UInt8](tar)
        func field(_ at: Int, _ len: Int) -> String {
            let slice = bytes[(offset + at)..<(offset + at + len)]
            return String(decoding: slice.prefix { $0 != 0 }, as: UTF8.self)
        }
        while offset + 512 <= bytes.count {
            if bytes[offset..<(offset + 512)].allSatisfy({ $0 == 0 }) { break }
            let sizeText = field(124, 12).trimmingCharacters(in: CharacterSet(charactersIn: " \0"))
            guard let size = Int(sizeText, radix: 8), size >= 0 else { throw FetchError.archive("bad tar header at \(offset)") }
            let type = bytes[offset + 156]
            let prefix = field(345, 155)
            var name = longName ?? (prefix.isEmpty ? field(0, 100) : prefix + "/" + field(0, 100))
            longName = nil
            let dataStart = offset + 512
            guard dataStart + size <= bytes.count else { throw FetchError.archive("tar entry '\(name)' is truncated") }
            switch type {
            case UInt8(ascii: "L"):  // GNU long name for the next entry
                longName = String(decoding: bytes[dataStart..<(dataStart + size)].prefix { $0 != 0 }, as: UTF8.self)
            case UInt8(ascii: "x"):  // pax header: take `path` for the next entry
                let text = String(decoding: bytes[dataStart..<(dataStart + size)], as: UTF8.self)
                for line in text.split(separator: "\n") where line.contains(" path=") {
                    longName = String(line[line.range(of: " path=")!.upperBound...])
                }
            case UInt8(ascii: "g"): break
            case 0, UInt8(ascii: "0"), UInt8(ascii: "7"):
                out.append(Entry(name: name, kind: .file, range: dataStart..<(dataStart + size), linkTarget: ""))
            case UInt8(ascii: "5"):
                if name.hasSuffix("/") { name.removeLast() }
                out.append(Entry(name: name, kind: .directory, range: 0..<0, linkTarget: ""))
            case UInt8(ascii: "2"):
                out.append(Entry(name: name, kind: .symlink, range: 0..<0, linkTarget: field(157, 100)))
            default:
                throw FetchError.archive("entry '\(name)' has unsupported type '\(Character(UnicodeScalar(type)))' (hard links and devices are refused)")
            }
            offset = dataStart + (size + 511) / 512 * 512
        }
        return out
    }
}
