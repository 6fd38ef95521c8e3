import Foundation
import ModelRuntime

/// The parts of a `multipart/form-data` body (RFC 7578, framing from RFC 2046 §5.1.1).
///
/// ```swift
/// let boundary = try MultipartForm.boundary(contentType: "multipart/form-data; boundary=XyZ")
/// let files = try MultipartForm.parts(of: body, boundary: boundary, maxParts: 32)   // [[UInt8]], empty parts dropped
/// ```
///
/// Our own parser, not MultipartKit's: MultipartKit 4.7.1 (the only version available) traps on
/// a header-name byte ≥ 0x80, taking the server down, and a guard in front of it kept missing
/// inputs that its state machine reads differently (Fuzz/Request found two). Only the framing is
/// parsed: part bodies, and header lines checked to be `token: value`; header values are ignored.
enum MultipartForm {
    private static let crlf: [UInt8] = [13, 10]
    private static let tokenSymbols = Array("!#$%&'*+-.^_`|~".utf8)
    private static let maxHeaders = 16
    private static let maxHeaderLine = 4096

    /// The `boundary` parameter of a `multipart/form-data` content type (quoted or not).
    static func boundary(contentType: String) throws -> String {
        for parameter in contentType.split(separator: ";").dropFirst() {
            let pair = parameter.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard pair.count == 2, pair[0].lowercased() == "boundary" else { continue }
            let value = pair[1].count >= 2 && pair[1].hasPrefix("\"") && pair[1].hasSuffix("\"") ? String(pair[1].dropFirst().dropLast()) : pair[1]
            guard (1...70).contains(value.utf8.count) else { throw PredictionError.invalid("the multipart boundary must be 1 to 70 characters") }
            return value
        }
        throw PredictionError.invalid("multipart/form-data without a boundary")
    }

    /// The non-empty parts; more than `maxParts` of them is refused as soon as the next is found.
    static func parts(of body: [UInt8], boundary: String, maxParts: Int) throws -> [[UInt8]] {
        let dashBoundary = Array("--\(boundary)".utf8)
        let delimiter = crlf + dashBoundary
        // The first boundary starts the body or follows a preamble and CRLF.
        var i: Int
        if body.starts(with: dashBoundary) {
            i = dashBoundary.count
        } else if let at = find(delimiter, in: body, from: 0) {
            i = at + delimiter.count
        } else {
            throw malformed("no '--\(boundary)' boundary line")
        }
        var parts: [[UInt8]] = []
        while true {
            if body[i...].starts(with: [45, 45]) { return parts }  // "--": the closing boundary
            while i < body.count, body[i] == 32 || body[i] == 9 { i += 1 }  // transport padding
            guard body[i...].starts(with: crlf) else { throw malformed("a boundary line does not end with CRLF") }
            i += 2
            var headers = 0
            while !body[i...].starts(with: crlf) {
                guard let end = find(crlf, in: body, from: i) else { throw malformed("a part's headers do not end") }
                headers += 1
                // A browser sends two or three short header lines per part.
                guard headers <= maxHeaders, end - i <= maxHeaderLine else {
                    throw malformed("a part has more than \(maxHeaders) header lines or one longer than \(maxHeaderLine) bytes")
                }
                try checkHeader(body[i..<end])
                i = end + 2
            }
            i += 2
            guard let end = find(delimiter, in: body, from: i) else { throw malformed("the form is truncated: no closing boundary") }
            if end > i {
                guard parts.count < maxParts else {
                    throw PredictionError.tooLarge("the multipart form has more than \(maxParts) parts (MAX_ROWS_PER_REQUEST)")
                }
                parts.append(Array(body[i..<end]))
            }
            i = end + delimiter.count
        }
    }

    /// A header line is `name: value` with a token for a name (RFC 9110 §5.6.2).
    private static func checkHeader(_ line: ArraySlice<UInt8>) throws {
        guard let colon = line.firstIndex(of: 58), colon > line.startIndex else { throw malformed("a part's header line has no name") }
        guard line[..<colon].allSatisfy(isTokenByte) else { throw malformed("a part's header name is not a token") }
    }

    private static func isTokenByte(_ b: UInt8) -> Bool {
        switch b {
        case UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"): true
        default: tokenSymbols.contains(b)
        }
    }

    private static func malformed(_ why: String) -> PredictionError { .invalid("malformed multipart body: \(why)") }

    /// Not the standard library's `firstRange(of:)`: on a 10 MB body that took ~690 ms against
    /// ~6 ms for this loop, too slow for a request path.
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
