import Foundation
import Hummingbird
import Logging
import TestSupport
import Testing

@testable import ModelServer

/// With API keys set, every route the router has is tried in every spelling the router accepts
/// for it (trailing and doubled slashes, dot segments, percent-encoding, query and fragment),
/// over a real socket so the HTTP parser sees the raw text. A protected route must answer 401
/// without a key in each spelling the router matches (and 404 or 405 in any it does not); an open
/// one must never ask for a key.
@Suite("API keys on every route and spelling")
struct AuthWalkTests {
    /// Routes that stay open with keys configured: probes, server metadata, metrics, the API document.
    static let open: Set<String> = [
        "GET /", "GET /version", "GET /v2/health/live", "GET /v2/health/ready", "GET /v2",
        "GET /v2/models/{model}/ready", "GET /v2/models/{model}/versions/{version}/ready",
        "GET /metrics", "GET /openapi.json",
    ]

    /// A concrete path for a route pattern.
    static func concrete(_ method: String, _ pattern: String) -> String {
        pattern.replacingOccurrences(of: "{model}", with: "efficientnet-lite0").replacingOccurrences(of: "{version}", with: "1")
    }

    /// Other ways to write `path` that a client might send.
    static func spellings(_ path: String) -> [String] {
        let parts = path.split(separator: "/").map(String.init)
        var out = [
            path, path + "/", "/" + path, path.replacingOccurrences(of: "/", with: "//"), path + "?x=1", path + "#frag", path + "/?a=b",
            "/." + path, path + "/.", "/x/.." + path,
        ]
        if let first = parts.first {
            out.append("/" + ([first, "."] + parts.dropFirst()).joined(separator: "/"))
            out.append(
                "/" + first.replacingOccurrences(of: "v", with: "%76", options: [], range: first.range(of: "v")) + "/"
                    + parts.dropFirst().joined(separator: "/")
            )
        }
        if parts.count > 1 { out.append("/" + parts.joined(separator: "%2F")) }
        out.append("/" + parts.joined(separator: "/").replacingOccurrences(of: "e", with: "%65"))
        return Array(Set(out)).sorted()
    }

    @Test("401 without a key on every protected route, in every spelling; open routes stay open")
    func walk() async throws {
        try #require(FileManager.default.fileExists(atPath: Paths.binary.path), "build model-server first")
        try #require(Paths.demoArtifactExists, "run `make model`")
        // The real binary in its own process: this test's raw socket reads block a thread, which
        // must not be one the server needs.
        var config = ServerConfiguration()
        config.apiKeys = ["walk-key"]
        let routes = ModelServer(configuration: config, logger: Logger(label: "walk")).makeRouter().routes.map { ("\($0.method)", "\($0.path)") }
        let (process, base) = try await startServerProcess(environment: ["API_KEYS": "walk-key"])
        defer { process.terminate() }
        do {
            #expect(routes.count >= 15, "the router has \(routes.count) routes")
            var protected = 0
            for (method, pattern) in routes {
                let isOpen = Self.open.contains("\(method) \(pattern)")
                if !isOpen { protected += 1 }
                for spelling in Self.spellings(Self.concrete(method, pattern)) {
                    let status = try await rawRequest(port: base.port!, method: method, target: spelling).status
                    if isOpen {
                        #expect(status != 401, "\(method) \(spelling) is open but answered 401")
                    } else {
                        // 404/405: the router matched no route (or another route without this method) for the spelling.
                        #expect([401, 404, 405].contains(status), "\(method) \(spelling) (route \(pattern)) answered \(status) without a key")
                    }
                }
                if !isOpen {
                    let status = try await rawRequest(
                        port: base.port!,
                        method: method,
                        target: Self.concrete(method, pattern),
                        headers: ["X-API-Key: walk-key"]
                    ).status
                    #expect(status != 401, "\(method) \(pattern) with the key answered 401")
                }
            }
            #expect(protected >= 6, "only \(protected) protected routes found")
        }
    }
}

/// ``rawRequestBlocking(port:method:target:headers:keepAlive:)`` on a thread of its own: its socket
/// reads block, and must not block the cooperative threads other tests' servers run on.
func rawRequest(
    port: Int,
    method: String,
    target: String,
    headers: [String] = [],
    keepAlive: Bool = false
) async throws -> (status: Int, connectionClose: Bool) {
    try await withCheckedThrowingContinuation { continuation in
        Thread.detachNewThread {
            continuation.resume(
                with: Result { try rawRequestBlocking(port: port, method: method, target: target, headers: headers, keepAlive: keepAlive) }
            )
        }
    }
}

/// One HTTP/1.1 request sent as raw text (no client library rewrites the path): the status and
/// whether the response says `Connection: close`. With `keepAlive` false the request asks for the
/// connection to be closed itself.
func rawRequestBlocking(
    port: Int,
    method: String,
    target: String,
    headers: [String] = [],
    keepAlive: Bool = false
) throws -> (status: Int, connectionClose: Bool) {
    let fd = try rawConnection(port: port)
    defer { close(fd) }
    var timeout = timeval(tv_sec: 10, tv_usec: 0)
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    let head =
        (["\(method) \(target) HTTP/1.1", "Host: 127.0.0.1", "Content-Type: image/jpeg", "Content-Length: 0"]
        + (keepAlive ? [] : ["Connection: close"]) + headers)
        .joined(separator: "\r\n") + "\r\n\r\n"
    _ = head.withCString { send(fd, $0, strlen($0), 0) }
    var received: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 4096)
    while !String(decoding: received, as: UTF8.self).contains("\r\n\r\n") {
        let n = recv(fd, &buffer, buffer.count, 0)
        guard n > 0 else { break }
        received += buffer.prefix(n)
    }
    let text = String(decoding: received, as: UTF8.self)
    guard text.hasPrefix("HTTP/1.1 "), let status = Int(text.dropFirst(9).prefix(3)) else { throw URLError(.badServerResponse) }
    let headEnd = text.range(of: "\r\n\r\n").map { text[..<$0.lowerBound] } ?? text[...]
    return (status, headEnd.lowercased().contains("\r\nconnection: close"))
}
