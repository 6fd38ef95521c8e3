import CCurl
import Foundation

/// One HTTP GET through libcurl, streaming the body to a sink.
struct CurlRequest {
    var url: String
    var headers: [String] = []
    /// Ask for bytes from this offset on (`Range: bytes=N-`), for resuming.
    var rangeStart: Int64 = 0
    /// Sign with AWS Signature V4 (libcurl's CURLOPT_AWS_SIGV4): "aws:amz:REGION:s3" and "KEY:SECRET".
    var awsSigV4: (provider: String, userpwd: String)?
    var connectTimeout = 15
    /// Abort when fewer than `lowSpeedLimit` bytes/s arrive for `lowSpeedTime` seconds (a stall).
    var lowSpeedLimit = 1024
    var lowSpeedTime = 30
    var caBundle: String?
    var verifyTLS = true
}

struct CurlResponse {
    var status: Int
    var headers: [String: String]
    /// Set when the transfer itself failed (connection, timeout, write error).
    var curlError: String?
    var curlCode: Int32 = 0
    var bytesReceived: Int64
}

/// Receives a successful response's body; returns false to abort (e.g. disk full).
protocol BodySink: AnyObject {
    /// Called before the first body byte of each response, with its status and `Content-Length`.
    func begin(status: Int, length: Int64?) -> Bool
    func write(_ bytes: UnsafeRawBufferPointer) -> Bool
}

extension BodySink {
    func begin(status: Int, length: Int64?) -> Bool { true }
}

/// Collects a small body in memory (listings, error documents).
final class MemorySink: BodySink {
    var data = Data()
    let limit: Int
    /// Set when the body was cut off at `limit` (the transfer is then aborted).
    private(set) var overflowed = false
    init(limit: Int = 64 << 20) { self.limit = limit }
    func write(_ bytes: UnsafeRawBufferPointer) -> Bool {
        guard bytes.count <= limit - data.count else {
            overflowed = true
            return false
        }
        data.append(contentsOf: bytes)
        return true
    }
}

enum Curl {
    static let initialized: Void = { curl_global_init(Int(CURL_GLOBAL_DEFAULT)) }()

    /// What the callbacks need, reached through libcurl's userdata pointer. libcurl hands the body
    /// over in pieces of at most 16 KiB (CURL_MAX_WRITE_SIZE), some 12,000 calls per 200 MB, so the
    /// callbacks borrow this object (`_withUnsafeGuaranteedRef`) instead of retaining it each time.
    private final class Transfer {
        let sink: BodySink
        let errorBody = MemorySink(limit: 1 << 20)
        let progress: ((Int64) -> Void)?
        var status = 0
        var headers: [String: String] = [:]
        var bytes: Int64 = 0
        var sinkFailed = false
        var bodyBegun = false

        init(sink: BodySink, progress: ((Int64) -> Void)?) {
            self.sink = sink
            self.progress = progress
        }

        func header(_ line: String) {
            if line.hasPrefix("HTTP/") {
                // A new response (redirect or 100-continue): start its headers afresh.
                headers = [:]
                bodyBegun = false
                status = Int(line.split(separator: " ").dropFirst().first ?? "") ?? 0
            } else if let colon = line.firstIndex(of: ":") {
                headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespacesAndNewlines)
            }
        }

        /// Error responses (status >= 400) go to `errorBody`; returns false to abort.
        func body(_ buffer: UnsafeRawBufferPointer) -> Bool {
            if status >= 400 { return deliver(buffer, to: errorBody) }
            guard deliver(buffer, to: sink) else { return false }
            bytes += Int64(buffer.count)
            progress?(bytes)
            return true
        }

        // Inlined, `sink` is used without a retain and release per piece.
        @inline(__always) private func deliver(_ buffer: UnsafeRawBufferPointer, to target: BodySink) -> Bool {
            if !bodyBegun {
                bodyBegun = true
                guard target.begin(status: status, length: headers["content-length"].flatMap(Int64.init)) else {
                    sinkFailed = true
                    return false
                }
            }
            guard target.write(buffer) else {
                sinkFailed = true
                return false
            }
            return true
        }
    }

    /// Performs `request`. Error responses (status ≥ 400) are not written to `sink` but to the response.
    static func get(_ request: CurlRequest, sink: BodySink, progress: ((Int64) -> Void)? = nil) -> (CurlResponse, Data) {
        _ = initialized
        guard let h = curl_easy_init() else {
            return (CurlResponse(status: 0, headers: [:], curlError: "curl_easy_init failed", bytesReceived: 0), Data())
        }
        defer { curl_easy_cleanup(h) }
        let transfer = Transfer(sink: sink, progress: progress)
        let userdata = Unmanaged.passUnretained(transfer).toOpaque()

        ccurl_setopt_string(h, CURLOPT_URL, request.url)
        ccurl_setopt_long(h, CURLOPT_NOSIGNAL, 1)
        ccurl_setopt_long(h, CURLOPT_FOLLOWLOCATION, 1)
        ccurl_setopt_long(h, CURLOPT_MAXREDIRS, 5)
        ccurl_setopt_long(h, CURLOPT_CONNECTTIMEOUT, request.connectTimeout)
        ccurl_setopt_long(h, CURLOPT_LOW_SPEED_LIMIT, request.lowSpeedLimit)
        ccurl_setopt_long(h, CURLOPT_LOW_SPEED_TIME, request.lowSpeedTime)
        ccurl_setopt_string(h, CURLOPT_USERAGENT, "model-fetch/0.1")
        ccurl_setopt_long(h, CURLOPT_BUFFERSIZE, 512 * 1024)
        if !request.verifyTLS {
            ccurl_setopt_long(h, CURLOPT_SSL_VERIFYPEER, 0)
            ccurl_setopt_long(h, CURLOPT_SSL_VERIFYHOST, 0)
        }
        if let ca = request.caBundle { ccurl_setopt_string(h, CURLOPT_CAINFO, ca) }
        if request.rangeStart > 0 { ccurl_setopt_string(h, CURLOPT_RANGE, "\(request.rangeStart)-") }
        if let sig = request.awsSigV4 {
            ccurl_setopt_string(h, CURLOPT_AWS_SIGV4, sig.provider)
            ccurl_setopt_string(h, CURLOPT_USERPWD, sig.userpwd)
        }
        var list: UnsafeMutablePointer<curl_slist>? = nil
        for header in request.headers { list = curl_slist_append(list, header) }
        defer { curl_slist_free_all(list) }
        if list != nil { ccurl_setopt_slist(h, CURLOPT_HTTPHEADER, list) }

        ccurl_setopt_pointer(h, CURLOPT_HEADERDATA, userdata)
        ccurl_setopt_header_callback(h) { ptr, size, count, ud in
            let n = size * count
            let line = String(decoding: UnsafeRawBufferPointer(start: ptr, count: n), as: UTF8.self)
            Unmanaged<Transfer>.fromOpaque(ud!)._withUnsafeGuaranteedRef { $0.header(line) }
            return n
        }
        ccurl_setopt_pointer(h, CURLOPT_WRITEDATA, userdata)
        ccurl_setopt_write_callback(h) { ptr, size, count, ud in
            let n = size * count
            let ok = Unmanaged<Transfer>.fromOpaque(ud!)._withUnsafeGuaranteedRef { $0.body(UnsafeRawBufferPointer(start: ptr, count: n)) }
            return ok ? n : 0
        }
        var errbuf = [CChar](repeating: 0, count: Int(CURL_ERROR_SIZE) + 1)
        let code = errbuf.withUnsafeMutableBufferPointer { buf -> CURLcode in
            ccurl_setopt_pointer(h, CURLOPT_ERRORBUFFER, buf.baseAddress)
            return curl_easy_perform(h)
        }
        var status = 0
        ccurl_getinfo_long(h, CURLINFO_RESPONSE_CODE, &status)
        var response = CurlResponse(status: status, headers: transfer.headers, bytesReceived: transfer.bytes)
        if code != CURLE_OK {
            let detail = String(cString: errbuf)
            response.curlError = detail.isEmpty ? String(cString: curl_easy_strerror(code)) : detail
            response.curlCode = Int32(code.rawValue)
            if transfer.sinkFailed { response.curlError = "writing the file failed" }
        }
        return (response, transfer.errorBody.data)
    }
}
