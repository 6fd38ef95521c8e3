import ModelServer
import NIOCore
import NIOHPACK
import NIOHTTP2

/// Charges each gRPC call's request bytes to the server's body budget (`MAX_BUFFERED_BODY_BYTES`,
/// shared with the HTTP routes) as they arrive, and gives them back when the call's stream
/// closes. Without it the transport would buffer up to `MAX_BODY_BYTES` per call, times
/// `MAX_ACTIVE_REQUESTS` calls per connection, times any number of connections. When the next
/// bytes do not fit, the call is answered UNAVAILABLE at once and its stream closed.
///
/// It is the first handler of every HTTP/2 stream channel (the transport's
/// `onAcceptHTTP2Stream` callback adds it).
final class StreamBudgetHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTP2Frame.FramePayload
    typealias InboundOut = HTTP2Frame.FramePayload
    typealias OutboundIn = HTTP2Frame.FramePayload
    typealias OutboundOut = HTTP2Frame.FramePayload

    private let budget: ByteBudget
    private let reservation = ByteBudget.Reservation()
    private var refused = false

    init(budget: ByteBudget) { self.budget = budget }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !refused else { return }
        if case .data(let frame) = unwrapInboundIn(data), case .byteBuffer(let bytes) = frame.data,
            !reservation.take(bytes.readableBytes, from: budget)
        {
            refused = true
            let trailers: HPACKHeaders = [
                ":status": "200", "content-type": "application/grpc", "grpc-status": "14",
                "grpc-message": "the server is holding too many request bodies; retry shortly",
            ]
            // The status, then RST_STREAM with NO_ERROR: HTTP/2's way (RFC 9113 §8.1) to stop a
            // client that is still sending without failing the response it was just given (a
            // plain close would reset with CANCEL, which clients report instead of the status).
            context.write(wrapOutboundOut(.headers(.init(headers: trailers, endStream: true))), promise: nil)
            context.writeAndFlush(wrapOutboundOut(.rstStream(.noError))).whenComplete { _ in context.close(promise: nil) }
            return
        }
        context.fireChannelRead(data)
    }

    func channelInactive(context: ChannelHandlerContext) {
        reservation.release(to: budget)
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        reservation.release(to: budget)
    }
}
