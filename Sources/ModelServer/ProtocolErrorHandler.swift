import HTTPTypes
import NIOCore
import NIOHTTP1
import NIOHTTPTypes

/// Gives the answer to an unparseable request (a 100 KB request line, 10,000 header fields) the
/// same JSON error body as every other error.
///
/// Hummingbird answers an HTTP parser error itself, below the router, with an empty 400 and
/// `Connection: close`. This handler sees the parser's error on its way up the pipeline and
/// rewrites that empty answer: 431 when the head was too large, 400 with the reason otherwise.
final class ProtocolErrorHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    private var parserError: HTTPParserError?

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        if let e = error as? HTTPParserError { parserError = e }
        context.fireErrorCaught(error)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        guard let error = parserError, case .head(var head) = unwrapOutboundIn(data), head.status == .badRequest,
            head.headerFields[.contentLength] == "0"
        else { return context.write(data, promise: promise) }
        parserError = nil
        let tooLarge = error == .headerOverflow
        head.status = tooLarge ? .requestHeaderFieldsTooLarge : .badRequest
        let body = ByteBuffer(string: tooLarge ? #"{"error":"the request line or headers are too large"}"# : #"{"error":"malformed HTTP request"}"#)
        head.headerFields[.contentType] = "application/json"
        head.headerFields[.contentLength] = "\(body.readableBytes)"
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        context.write(wrapOutboundOut(.body(body)), promise: promise)
    }
}
