import Foundation
import MultipartKit

/// The parts of a `multipart/form-data` body, parsed by MultipartKit.
///
/// ```swift
/// let files = try MultipartForm.parts(of: body, boundary: "XyZ")   // [[UInt8]], empty parts dropped
/// ```
enum MultipartForm {
    static func parts(of body: [UInt8], boundary: String) throws -> [[UInt8]] {
        try checkHeaderNames(body, boundary: Array(boundary.utf8))
        var parts: [[UInt8]] = []
        var current: [UInt8] = []
        let parser = MultipartParser(boundary: boundary)
        parser.onHeader = { _, _ in }
        parser.onBody = { buffer in current += buffer.readBytes(length: buffer.readableBytes) ?? [] }
        parser.onPartComplete = { parts.append(current); current = [] }
        do { try parser.execute(body) } catch { throw APIError.badRequest("malformed multipart body: \(error)") }
        return parts.filter { !$0.isEmpty }
    }

    /// MultipartKit 4.7.1 looks header-name bytes up in a 128-entry table, so a byte ≥ 0x80 in a
    /// part's header name traps and takes the process down (found by Fuzz/Request). Refuse such
    /// bodies first: after every `--boundary`, up to the blank line, each line's bytes before
    /// its colon must be ASCII.
    static func checkHeaderNames(_ body: [UInt8], boundary: [UInt8]) throws {
        let delimiter = Array("--".utf8) + boundary
        var i = 0
        while let start = find(delimiter, in: body, from: i) {
            var p = start + delimiter.count
            var inName = true, lineStart = false  // the delimiter's own line is not blank
            while p < body.count {
                let b = body[p]
                if b == UInt8(ascii: "\n") {
                    if lineStart { break }  // the blank line: headers end
                    inName = true
                    lineStart = true
                } else if b != UInt8(ascii: "\r") {
                    lineStart = false
                    if b == UInt8(ascii: ":") { inName = false }
                    if inName && b >= 0x80 {
                        throw APIError.badRequest("malformed multipart body: a part's header name holds a non-ASCII byte")
                    }
                }
                p += 1
            }
            i = p
        }
    }

    private static func find(_ needle: [UInt8], in haystack: [UInt8], from: Int) -> Int? {
        guard needle.count <= haystack.count, from <= haystack.count - needle.count else { return nil }
        var i = from
        while i <= haystack.count - needle.count {
            if haystack[i] == needle[0] && haystack[i..<(i + needle.count)].elementsEqual(needle) { return i }
            i += 1
        }
        return nil
    }
}
