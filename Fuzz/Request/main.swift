// libFuzzer target: untrusted request bodies through every prediction route, in process.
//
// The first input byte picks the route and content type, the next two an
// `Inference-Header-Content-Length` for the V2 binary extension; the rest is the body. The real
// router runs with the demo model (MODEL_DIR, default models/efficientnet-lite0). Any answer but
// a 2xx, a 4xx or a 503 (capacity) is a bug, and so is a crash.
// Built and run by `make fuzz` (Fuzz/run, which sets MODEL_SERVER_FUZZ=1 so that Package.swift declares it).
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import ModelServer
import NIOEmbedded

let routes: [(path: String, contentType: String?)] = [
    ("/score", "application/json"),
    ("/v1/models/efficientnet-lite0:classify", "image/jpeg"),
    ("/v1/models/efficientnet-lite0:classify", "multipart/form-data; boundary=fuzz"),
    ("/v1/models/efficientnet-lite0:predict", "application/json"),
    ("/v2/models/efficientnet-lite0/infer", "application/json"),
    ("/v2/models/efficientnet-lite0/infer", nil),  // binary extension
]

/// The server's router with the model loaded, called directly (no sockets): one request context
/// on one testing channel serves every input, so nothing is allocated per input but the request.
final class Harness: @unchecked Sendable {
    static let shared = Harness()
    let responder: RouterResponder<HTTPContext>
    let context: HTTPContext
    /// Kept: the context does not hold its channel, whose pipeline would otherwise be a leaked cycle.
    let channel = NIOAsyncTestingChannel()

    private init() {
        var config = try! ServerConfiguration(environment: ProcessInfo.processInfo.environment)
        config.modelDirectory = URL(fileURLWithPath: ProcessInfo.processInfo.environment["MODEL_DIR"] ?? "models/efficientnet-lite0")
        config.bodyLimits.maxBodyBytes = 1 << 20
        var logger = Logger(label: "fuzz")
        logger.logLevel = .critical
        let server = ModelServer(configuration: config, logger: logger)
        responder = server.makeRouter().buildResponder()
        context = HTTPContext(source: .init(channel: channel, logger: logger))
        let host = server.host
        // The model is loaded without a ServiceGroup: a service task suspended for the whole run
        // is memory LeakSanitizer cannot see being used, and it reported it as leaked.
        Task { await host.load() }
        while !host.isReady {
            guard host.notReadyReason.contains("loading") else { fatalError("the model did not load: \(host.notReadyReason)") }
            usleep(20_000)
        }
    }

    func send(_ input: [UInt8]) -> HTTPResponse.Status {
        let route = routes[Int(input.first ?? 0) % routes.count]
        var headers = HTTPFields()
        if let type = route.contentType { headers[.contentType] = type }
        if route.contentType == nil, input.count >= 3 {
            headers[HTTPField.Name("Inference-Header-Content-Length")!] = String(Int(input[1]) | Int(input[2]) << 8)
        }
        let request = Request(
            head: HTTPRequest(method: .post, scheme: "http", authority: "localhost", path: route.path, headerFields: headers),
            body: RequestBody(buffer: ByteBuffer(bytes: input.dropFirst(3)))
        )
        let done = DispatchSemaphore(value: 0)
        nonisolated(unsafe) var status = HTTPResponse.Status.internalServerError
        let (responder, context) = (self.responder, self.context)
        Task {
            // Errors the middleware did not turn into a response count as 500s.
            status = (try? await responder.respond(to: request, context: context).status) ?? .internalServerError
            done.signal()
        }
        done.wait()
        return status
    }
}

/// FUZZ_VERBOSE=1 prints each input's route and status (to check that seeds reach the model).
let verbose = ProcessInfo.processInfo.environment["FUZZ_VERBOSE"] != nil

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzRequest(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let status = Harness.shared.send(Array(UnsafeBufferPointer(start: data, count: size)))
    if verbose { print("\(routes[Int(size > 0 ? data[0] : 0) % routes.count].path) -> \(status.code)") }
    precondition(status.code < 500 || status == .serviceUnavailable, "the server answered \(status.code)")
    return 0
}
