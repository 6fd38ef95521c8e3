import NIOCore
import NIOHTTPTypes

/// Closes a connection whose next request head has not fully arrived `timeout` after the
/// connection opened or its last response ended.
///
/// Hummingbird's idle timeout restarts whenever a byte arrives, so a client sending one header
/// byte every 50 seconds holds its connection for days (the head may be 80 KB). Measured from the
/// start of the wait instead, the idle time and the head's transmission together are bounded by
/// `IDLE_TIMEOUT_SECONDS`. A body has its own deadline (`BODY_TIMEOUT_SECONDS`).
final class HeadDeadlineHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    private let timeout: TimeAmount
    /// Request heads received and responses ended: equal when the connection waits for a request.
    private var heads = 0, ends = 0
    private var deadline: Scheduled<Void>?

    init(timeout: TimeAmount) { self.timeout = timeout }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { arm(context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        arm(context)
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        deadline?.cancel()
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if case .head = unwrapInboundIn(data) {
            heads += 1
            deadline?.cancel()
            deadline = nil
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .end = unwrapOutboundIn(data) {
            ends += 1
            if ends >= heads { arm(context) }
        }
        context.write(data, promise: promise)
    }

    private func arm(_ context: ChannelHandlerContext) {
        deadline?.cancel()
        let bound = NIOLoopBound(context, eventLoop: context.eventLoop)
        deadline = context.eventLoop.scheduleTask(in: timeout) { bound.value.close(promise: nil) }
    }
}
