import ArgumentParser
import Foundation

/// `model-server probe`: exit 0 when the local server reports ready. For an exec-form Docker
/// `HEALTHCHECK` in an image without curl. Sends one `GET /v2/health/ready` over loopback and
/// reads only the status line.
struct Probe: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Exit 0 if the server on this host is ready (for HEALTHCHECK).")

    @Option(help: "Port (env PORT, default 8080).") var port: Int?
    @Option(help: "Path to probe.") var path = "/v2/health/ready"

    func run() throws {
        let port = port ?? ProcessInfo.processInfo.environment["PORT"].flatMap(Int.init) ?? 8080
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw ExitCode(1) }
        defer { close(fd) }
        var timeout = timeval(tv_sec: 2, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = in_port_t(UInt16(port).bigEndian)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { throw ExitCode(1) }
        let request = "GET \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
        _ = request.withCString { send(fd, $0, strlen($0), 0) }
        var buffer = [UInt8](repeating: 0, count: 64)
        let n = recv(fd, &buffer, buffer.count, 0)
        let statusLine = n > 0 ? String(decoding: buffer[..<n], as: UTF8.self) : ""
        guard statusLine.hasPrefix("HTTP/1.1 200") || statusLine.hasPrefix("HTTP/1.0 200") else { throw ExitCode(1) }
    }
}
