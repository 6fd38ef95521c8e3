import Foundation
import HTTPTypes
import NIOCore
import NIOHTTPTypes
import Synchronization

/// Shutting down without losing a request, whatever the load balancer in front.
///
/// After SIGTERM the server does not stop listening, nor close idle keep-alive connections: a
/// load balancer that has not yet seen readiness fail may send a request on either, and a request
/// on a connection closed under it is lost (haproxy does not retry it; neither does a Kubernetes
/// Service). Instead every request is still answered normally, with `Connection: close`, so each
/// connection ends cleanly after its next response. The drain ends once no request has arrived
/// for `quiet` seconds — the load balancers have seen readiness fail and send elsewhere — but not
/// before `minimum` seconds (`READINESS_GRACE_SECONDS`) and not after `timeout`. Probes do not
/// count as traffic: load balancers and kubelets keep probing a replica they no longer use. Then the HTTP
/// server closes its listener and its idle connections, and lets in-flight requests finish.
///
/// ```swift
/// let server = ModelServer(configuration: config, logger: logger)   // makes the Drain, shared by
/// server.drain.isDraining                                          // its host and its connections
/// ```
public final class Drain: Sendable {
    private let draining = Atomic<Bool>(false)
    /// Uptime in nanoseconds when the last request's head arrived.
    private let lastRequest = Atomic<UInt64>(0)

    public init() {}

    public var isDraining: Bool { draining.load(ordering: .relaxed) }

    func begin() { draining.store(true, ordering: .relaxed) }

    func requestArrived(path: String) {
        guard !Self.isProbe(path) else { return }
        lastRequest.store(DispatchTime.now().uptimeNanoseconds, ordering: .relaxed)
    }

    /// Probes and metadata load balancers and monitors poll: `/`, `…/live`, `…/ready`,
    /// `/metrics`, `/version` (any spelling of their paths).
    static func isProbe(_ path: String) -> Bool {
        let route = path.split(separator: "?", maxSplits: 1).first.map { $0.split(separator: "/") } ?? []
        switch route.count {
        case 0: return true  // "/"
        case 1: return ["metrics", "version"].contains(route[0])
        default: return route.last == "ready" || route.last == "live"
        }
    }

    func waitUntilQuiet(quiet: Double, minimum: Double, timeout: Double) async {
        let start = DispatchTime.now().uptimeNanoseconds
        func seconds(since t: UInt64) -> Double { Double(DispatchTime.now().uptimeNanoseconds &- t) / 1e9 }
        while seconds(since: start) < timeout, !Task.isCancelled {
            let last = max(start, lastRequest.load(ordering: .relaxed))
            if seconds(since: start) >= minimum && seconds(since: last) >= quiet { return }
            try? await Task.sleep(for: .milliseconds(50))
        }
    }
}

/// The connection side of ``Drain``: notes each request's arrival, and while draining marks
/// every response `Connection: close` and closes the connection once the response is written.
final class DrainHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    private let drain: Drain
    private var closeAfterResponse = false

    init(drain: Drain) { self.drain = drain }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if case .head(let head) = unwrapInboundIn(data) { drain.requestArrived(path: head.path ?? "/") }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch unwrapOutboundIn(data) {
        case .head(var head) where drain.isDraining:
            head.headerFields[.connection] = "close"
            closeAfterResponse = true
            context.write(wrapOutboundOut(.head(head)), promise: promise)
        case .end where closeAfterResponse:
            let bound = NIOLoopBound(context, eventLoop: context.eventLoop)
            let written = context.write(data)
            written.whenComplete { _ in bound.value.close(promise: nil) }
            written.cascade(to: promise)
        default:
            context.write(data, promise: promise)
        }
    }
}
