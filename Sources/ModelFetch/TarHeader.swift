import Foundation

/// Field decoding for 512-byte tar headers and pax records, with every number checked.
///
/// ```swift
/// let size = try TarHeader.number(header[124..<136], field: "size")  // octal or GNU base-256
/// ```
enum TarHeader {
    /// A NUL-terminated text field.
    static func string<C: Collection>(_ bytes: C) -> String where C.Element == UInt8 {
        String(decoding: bytes.prefix { $0 != 0 }, as: UTF8.self)
    }

    /// The entry name; the ustar `prefix` field counts only in POSIX ustar headers (GNU headers
    /// keep access and change times in those bytes).
    static func name(_ h: [UInt8]) -> String {
        let name = string(h[0..<100])
        let isPosix = Array(h[257..<263]) == Array("ustar\0".utf8)
        let prefix = isPosix ? string(h[345..<500]) : ""
        return prefix.isEmpty ? name : "\(prefix)/\(name)"
    }

    /// A numeric field: octal text, or GNU base-256 (first byte 0x80) for values too large for
    /// octal. Negative or larger than Int64 is refused.
    static func number(_ field: ArraySlice<UInt8>, field name: String) throws -> Int64 {
        let bad = FetchError.archive("tar header field '\(name)' is not a valid number")
        if let first = field.first, first & 0x80 != 0 {
            guard first & 0x40 == 0 else { throw bad }  // a negative number (two's complement)
            var value = Int64(first & 0x3f)
            for byte in field.dropFirst() {
                let (shifted, o1) = value.multipliedReportingOverflow(by: 256)
                let (sum, o2) = shifted.addingReportingOverflow(Int64(byte))
                guard !o1, !o2 else { throw bad }
                value = sum
            }
            return value
        }
        let text = string(field).trimmingCharacters(in: CharacterSet(charactersIn: " "))
        guard !text.isEmpty else { return 0 }
        guard text.utf8.allSatisfy({ (48...55).contains($0) }), let value = Int64(text, radix: 8) else { throw bad }
        return value
    }

    /// `size` rounded up to whole 512-byte blocks.
    static func padded(_ size: Int64) throws -> Int64 {
        let (sum, overflow) = size.addingReportingOverflow(511)
        guard size >= 0, !overflow else { throw FetchError.archive("tar entry size \(size) is out of range") }
        return sum / 512 * 512
    }

    /// The header checksum: the byte sum with the checksum field counted as spaces. Catches a
    /// stream that is not tar, or is misaligned, before its bytes are trusted as a header.
    static func verifyChecksum(_ h: [UInt8]) throws {
        let stored = try number(h[148..<156], field: "checksum")
        var sum: Int64 = 0
        for (i, byte) in h.enumerated() { sum += (148..<156).contains(i) ? 32 : Int64(byte) }
        guard sum == stored else { throw FetchError.archive("tar header checksum mismatch (not a tar archive, or a corrupt one)") }
    }

    /// pax records: "LENGTH KEY=VALUE\n", LENGTH counting the whole record.
    static func paxRecords(_ data: Data) throws -> [String: String] {
        let bytes = [UInt8](data)
        var records: [String: String] = [:]
        var at = 0
        while at < bytes.count {
            if bytes[at] == 0 { break }  // NUL padding after the last record
            guard let space = bytes[at...].prefix(20).firstIndex(of: 32), space > at,
                let length = Int(String(decoding: bytes[at..<space], as: UTF8.self)),
                length > space - at + 1, length <= bytes.count - at, bytes[at + length - 1] == 10,
                let eq = bytes[(space + 1)..<(at + length - 1)].firstIndex(of: UInt8(ascii: "="))
            else { throw FetchError.archive("malformed pax extended header") }
            let value = bytes[(eq + 1)..<(at + length - 1)]
            guard !value.contains(0) else { throw FetchError.archive("a pax value contains a NUL byte") }
            records[String(decoding: bytes[(space + 1)..<eq], as: UTF8.self)] = String(decoding: value, as: UTF8.self)
            at += length
        }
        return records
    }
}
