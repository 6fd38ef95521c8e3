import Foundation

/// Downloads artifacts: retries, resume, checksum, and never a partial file at the final path.
///
/// ```swift
/// let fetcher = Fetcher(environment: ProcessInfo.processInfo.environment)
/// let summary = try fetcher.fetch(uri: "s3://models/m.onnx", sha256: hex, to: URL(fileURLWithPath: "model.onnx"))
/// ```
public final class Fetcher {
    public struct Options: Sendable {
        /// Attempts per object (`S3_MAX_ATTEMPTS`, default 5).
        public var maxAttempts = 5
        /// Seconds to wait for a connection (`S3_CONNECT_TIMEOUT`, default 15).
        public var connectTimeout = 15
        /// A transfer slower than 1 KiB/s for this many seconds is a stall (`S3_READ_TIMEOUT`, default 30).
        public var stallSeconds = 30
        /// First backoff delay; doubles each retry, with jitter, capped at `maxBackoff`.
        public var baseBackoff = 0.5
        public var maxBackoff = 30.0
        /// Most pages a prefix listing may take: the cut-off for a server that never stops
        /// handing out fresh continuation tokens (an honest one needs 100 for 100,000 keys).
        public var maxListPages = 1_000
        /// Most objects a prefix listing may return.
        public var maxListKeys = 100_000

        public init() {}

        public init(environment env: [String: String]) {
            if let v = env["S3_MAX_ATTEMPTS"].flatMap(Int.init), v > 0 { maxAttempts = v }
            if let v = env["S3_CONNECT_TIMEOUT"].flatMap(Int.init), v > 0 { connectTimeout = v }
            if let v = env["S3_READ_TIMEOUT"].flatMap(Int.init), v > 0 { stallSeconds = v }
            if let v = env["MODEL_FETCH_BACKOFF"].flatMap(Double.init), v >= 0 { baseBackoff = v }
        }
    }

    public struct Summary: Sendable {
        public var source: String
        public var path: String
        public var bytes: Int64
        public var seconds: Double
        public var sha256: String
        public var attempts: Int
        public var megabytesPerSecond: Double { seconds > 0 ? Double(bytes) / 1_000_000 / seconds : 0 }
    }

    let environment: [String: String]
    public var options: Options
    let progress: DownloadProgress

    public init(environment: [String: String], options: Options? = nil, progress: DownloadProgress = DownloadProgress()) {
        self.environment = environment
        self.options = options ?? Options(environment: environment)
        self.progress = progress
    }

    /// Fetches one object to `output`, verifying `sha256` when given.
    public func fetch(uri: String, sha256 expected: String?, to output: URL) throws -> Summary {
        let source = try Source(uri: uri, environment: environment)
        let secrets = Self.secrets(of: source)
        do {
            return try fetch(source, sha256: expected, to: output)
        } catch let e as FetchError {
            throw FetchError.redacted(e, secrets: secrets)
        }
    }

    /// `reportAs`: the path the summary names, when `output` is a staging path moved there later.
    /// `maxBytes`: the most the object may have (more fails the fetch, `.integrity`).
    func fetch(_ source: Source, sha256 expected: String?, to output: URL, reportAs: URL? = nil, maxBytes: Int64? = nil) throws -> Summary {
        let dir = output.deletingLastPathComponent()
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let temp = dir.appendingPathComponent(".\(output.lastPathComponent).partial-\(getpid())")
        let sink = try FileSink(path: temp.path)
        sink.maxBytes = maxBytes
        defer { unlink(temp.path) }
        let start = Date()
        var attempts = 0
        if case .file(let path) = source {
            try copyFile(path, into: sink)
            attempts = 1
        } else {
            attempts = try download(source, into: sink, label: output.lastPathComponent)
        }
        let actual = try sink.finish()
        if let expected, actual != expected.lowercased() {
            throw FetchError.checksumMismatch(file: (reportAs ?? output).path, expected: expected.lowercased(), actual: actual)
        }
        guard rename(temp.path, output.path) == 0 else {
            throw FetchError.transfer("cannot move into place at \(output.path): \(String(cString: strerror(errno)))")
        }
        let dfd = open(dir.path, O_RDONLY)
        if dfd >= 0 {
            fsync(dfd)
            close(dfd)
        }
        let summary = Summary(
            source: source.display,
            path: (reportAs ?? output).path,
            bytes: sink.size,
            seconds: Date().timeIntervalSince(start),
            sha256: actual,
            attempts: attempts
        )
        progress.finished(summary)
        return summary
    }

    private func copyFile(_ path: String, into sink: FileSink) throws {
        guard let handle = FileHandle(forReadingAtPath: path) else { throw FetchError.notFound("file://\(path)") }
        defer { try? handle.close() }
        let length = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? NSNumber)?.int64Value
        guard sink.begin(status: 200, length: length) else { throw Self.writeError(sink, "file://\(path)") }
        while let chunk = try handle.read(upToCount: 1 << 20), !chunk.isEmpty {
            let ok = chunk.withUnsafeBytes { sink.write($0) }
            if !ok { throw Self.writeError(sink, "file://\(path)") }
        }
    }

    /// GETs `source` with retries; returns the number of attempts used.
    private func download(_ source: Source, into sink: FileSink, label: String) throws -> Int {
        var attempt = 0
        var total: Int64?
        while true {
            attempt += 1
            var request = try self.request(for: source, range: sink.size)
            request.connectTimeout = options.connectTimeout
            request.lowSpeedTime = options.stallSeconds
            let base = sink.size
            let (response, errorBody) = Curl.get(request, sink: sink) { [progress] received in
                progress.update(label: label, bytes: base + received, total: total)
            }
            if let length = response.headers["content-length"].flatMap(Int64.init), response.status < 300 {
                total = response.status == 206 ? base + length : length
            }
            // A server's Retry-After is honoured up to our own longest backoff, never longer.
            let retryAfter = response.headers["retry-after"].flatMap(Double.init).map { $0.isFinite ? min(max($0, 0), options.maxBackoff) : 0 }
            let problem: String
            switch response.status {
            case 200 where response.curlError == nil, 206 where response.curlError == nil:
                return attempt
            case 416 where sink.size > 0:
                return attempt  // everything was already received
            case 401, 403:
                throw FetchError.credentials("\(source.display): HTTP \(response.status) \(Self.errorCode(errorBody))")
            case 400 where Self.credentialCodes.contains(Self.errorCode(errorBody)):
                throw FetchError.credentials("\(source.display): HTTP 400 \(Self.errorCode(errorBody))")
            case 404:
                throw FetchError.notFound("\(source.display): HTTP 404 \(Self.errorCode(errorBody))")
            default:
                if sink.exceeded || sink.writeErrno != 0 { throw Self.writeError(sink, source.display) }
                if let e = response.curlError {
                    problem = "\(e) after \(sink.size) bytes"
                } else if response.status == 429 || response.status >= 500 {
                    problem = "HTTP \(response.status)"
                } else {
                    throw FetchError.transfer("\(source.display): unexpected HTTP \(response.status) \(Self.errorCode(errorBody))")
                }
            }
            guard attempt < options.maxAttempts else {
                throw FetchError.transfer("\(source.display): \(problem); gave up after \(attempt) attempts")
            }
            let backoff = min(options.maxBackoff, options.baseBackoff * pow(2, Double(attempt - 1)))
            let delay = max(retryAfter ?? 0, Double.random(in: (backoff / 2)...max(backoff, 0.001)))
            progress.note(
                "\(label): \(problem); retrying in \(String(format: "%.1f", delay)) s (attempt \(attempt + 1) of \(options.maxAttempts))"
                    + (sink.size > 0 ? ", resuming at byte \(sink.size)" : "")
            )
            Thread.sleep(forTimeInterval: delay)
        }
    }

    func request(for source: Source, range: Int64) throws -> CurlRequest {
        switch source {
        case .s3(let s3):
            var r = s3.request(key: s3.key)
            r.rangeStart = range
            return r
        case .azure(let az):
            return az.request(path: "\(az.container)/\(az.blob)", range: range)
        case .http(let url, let headers):
            var r = CurlRequest(url: url, headers: headers)
            r.rangeStart = range
            return r
        case .file:
            throw FetchError.usage("file sources are copied, not requested")
        }
    }

    /// S3 and Azure error codes that mean "bad credentials" even when the status is 400.
    static let credentialCodes: Set<String> = [
        "(InvalidToken)", "(ExpiredToken)", "(InvalidAccessKeyId)", "(SignatureDoesNotMatch)",
        "(AuthorizationHeaderMalformed)", "(AuthenticationFailed)", "(InvalidAuthenticationInfo)",
    ]

    /// The `<Code>` of an S3 or Azure error body, control characters replaced by `?`: the
    /// server's text goes into CI logs, where a newline could forge a log command. (Not cut
    /// short: a server may echo a credential here, and only a whole one is found and redacted.)
    static func errorCode(_ body: Data) -> String {
        let text = String(decoding: body.prefix(2048), as: UTF8.self)
        guard let start = text.range(of: "<Code>"), let end = text.range(of: "</Code>"), start.upperBound <= end.lowerBound else { return "" }
        let code = text[start.upperBound..<end.lowerBound].unicodeScalars.map { $0.value < 0x20 || $0.value == 0x7F ? "?" : $0 }
        return "(\(String(String.UnicodeScalarView(code))))"
    }

    static func writeError(_ sink: FileSink, _ source: String) -> FetchError {
        if sink.exceeded, let max = sink.maxBytes {
            return .integrity("\(source) has more than the \(max) bytes its manifest gives")
        }
        let why = String(cString: strerror(sink.writeErrno)) + (sink.spaceShortfall.map { " (\($0))" } ?? "")
        return sink.writeErrno == ENOSPC || sink.writeErrno == EDQUOT
            ? .diskFull("writing \(sink.path): \(why)") : .transfer("writing \(sink.path): \(why)")
    }

    static func secrets(of source: Source) -> [String] {
        switch source {
        case .s3(let l): l.secrets
        case .azure(let l): l.secrets
        case .http(_, let headers): Redact.headerValues(headers)
        case .file: []
        }
    }
}

extension FetchError {
    static func redacted(_ e: FetchError, secrets: [String]) -> FetchError {
        func r(_ s: String) -> String { Redact.text(s, secrets: secrets) }
        switch e {
        case .credentials(let s): return .credentials(r(s))
        case .notFound(let s): return .notFound(r(s))
        case .transfer(let s): return .transfer(r(s))
        case .usage(let s): return .usage(r(s))
        case .integrity(let s): return .integrity(r(s))
        case .diskFull(let s): return .diskFull(r(s))
        case .archive(let s): return .archive(r(s))
        case .checksumMismatch: return e
        }
    }
}
