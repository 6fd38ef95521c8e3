import ModelServer
import NIOCore
import NIOHPACK
import NIOHTTP2

/// What a gRPC call's request may cost before it reaches a handler, as HTTP bodies are bounded
/// by `BodyReader.collect`. It is the first handler of every HTTP/2 stream channel (the
/// transport's `onAcceptHTTP2Stream` callback adds it) and, for the request part of the call:
///
/// - charges its DATA bytes to the server's body budget (`MAX_BUFFERED_BODY_BYTES`, shared with
///   the HTTP routes) as they arrive — without it the transport would buffer up to
///   `MAX_BODY_BYTES` per call, times `MAX_ACTIVE_REQUESTS` calls per connection, times any number
///   of connections — and answers UNAVAILABLE when the next bytes do not fit;
/// - allows methods other than `ModelInfer` (probes, metadata, health) `smallRequestBytes` only
///   (RESOURCE_EXHAUSTED above);
/// - requires the whole request within `BODY_TIMEOUT_SECONDS` of the call's start
///   (DEADLINE_EXCEEDED): a client that sends part of a message and stops holds nothing for long.
///
/// The charge ends when the request is complete: `ModelInfer` then holds a reservation of its own
/// for as long as it runs (``InferenceService``), whether or not the client stays.
final class StreamBudgetHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTP2Frame.FramePayload
    typealias InboundOut = HTTP2Frame.FramePayload
    typealias OutboundIn = HTTP2Frame.FramePayload
    typealias OutboundOut = HTTP2Frame.FramePayload

    /// Request bytes of a call to any method but `ModelInfer`: their messages are a name or two.
    static let smallRequestBytes = 64 << 10

    private let budget: ByteBudget
    private let timeout: TimeAmount
    private let reservation = ByteBudget.Reservation()
    private var received = 0
    private var limit = Int.max
    private var state = State.receiving
    private var deadline: Scheduled<Void>?

    private enum State { case receiving, complete, refused }

    init(budget: ByteBudget, timeout: TimeAmount) {
        self.budget = budget
        self.timeout = timeout
    }

    func handlerAdded(context: ChannelHandlerContext) {
        deadline = context.eventLoop.scheduleTask(in: timeout) { [weak self] in
            guard let self, self.state == .receiving else { return }
            self.refuse(context: context, code: 4, "the request did not arrive within \(self.timeout.nanoseconds / 1_000_000_000) seconds")
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch state {
        case .refused: return  // nothing more is read
        case .complete: return context.fireChannelRead(data)
        case .receiving: break
        }
        let payload = unwrapInboundIn(data)
        switch payload {
        case .headers(let frame):
            if let path = frame.headers.first(name: ":path"), path != "/inference.GRPCInferenceService/ModelInfer" {
                limit = Self.smallRequestBytes
            }
            if frame.endStream { complete() }
        case .data(let frame):
            if case .byteBuffer(let bytes) = frame.data {
                received += bytes.readableBytes
                guard received <= limit else {
                    return refuse(context: context, code: 8, "a request to this method may hold at most \(limit) bytes")
                }
                guard reservation.take(bytes.readableBytes, from: budget) else {
                    return refuse(context: context, code: 14, "the server is holding too many request bodies; retry shortly")
                }
            }
            if frame.endStream {
                context.fireChannelRead(data)
                return complete()
            }
        default: break
        }
        context.fireChannelRead(data)
    }

    /// The request is in: the handler now owns what it costs.
    private func complete() {
        state = .complete
        deadline?.cancel()
        reservation.release(to: budget)
    }

    /// Answers `code` with `message` at once, then RST_STREAM with NO_ERROR: HTTP/2's way (RFC
    /// 9113 §8.1) to stop a client that is still sending without failing the response it was
    /// just given (a plain close would reset with CANCEL, which clients report instead).
    private func refuse(context: ChannelHandlerContext, code: Int, _ message: String) {
        guard state == .receiving else { return }
        state = .refused
        deadline?.cancel()
        reservation.release(to: budget)
        let trailers: HPACKHeaders = [":status": "200", "content-type": "application/grpc", "grpc-status": "\(code)", "grpc-message": message]
        context.write(wrapOutboundOut(.headers(.init(headers: trailers, endStream: true))), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.rstStream(.noError))).whenComplete { _ in context.close(promise: nil) }
    }

    func channelInactive(context: ChannelHandlerContext) {
        deadline?.cancel()
        reservation.release(to: budget)
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        deadline?.cancel()
        reservation.release(to: budget)
    }
}
