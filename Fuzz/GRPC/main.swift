// libFuzzer target: untrusted bytes as a serialized `inference.ModelInferRequest`, through the
// gRPC service's ModelInfer (protobuf decoding, the V2 checks, image decoding, the model), in
// process with the demo model loaded (MODEL_DIR, default models/efficientnet-lite0). Any status
// but OK, INVALID_ARGUMENT, NOT_FOUND, RESOURCE_EXHAUSTED or UNAVAILABLE is a bug, and so is a crash.
// Built and run by `make fuzz` (Fuzz/run, which sets MODEL_SERVER_FUZZ=1 so that Package.swift declares it).
import Foundation
import GRPCCore
import Logging
import ModelGRPC
import ModelServer

final class Harness: @unchecked Sendable {
    static let shared = Harness()
    let call: InProcessInference

    private init() {
        var config = try! ServerConfiguration(environment: ProcessInfo.processInfo.environment)
        config.modelDirectory = URL(fileURLWithPath: ProcessInfo.processInfo.environment["MODEL_DIR"] ?? "models/efficientnet-lite0")
        var logger = Logger(label: "fuzz")
        logger.logLevel = .critical
        let server = ModelServer(configuration: config, logger: logger)
        call = InProcessInference(server: server)
        let host = server.host
        // Loaded without a ServiceGroup, as in Fuzz/Request (LeakSanitizer and suspended services).
        Task { await host.load() }
        while !host.isReady {
            guard host.notReadyReason.contains("loading") else { fatalError("the model did not load: \(host.notReadyReason)") }
            usleep(20_000)
        }
    }

    func send(_ input: [UInt8]) -> RPCError.Code? {
        let done = DispatchSemaphore(value: 0)
        nonisolated(unsafe) var code: RPCError.Code? = .internalError
        let call = self.call
        Task {
            do {
                _ = try await call.modelInfer(serialized: input)
                code = nil
            } catch let error as RPCError {
                code = error.code
            } catch {
                code = .internalError
            }
            done.signal()
        }
        done.wait()
        return code
    }
}

let allowed: Set<RPCError.Code> = [.invalidArgument, .notFound, .resourceExhausted, .unavailable]
let verbose = ProcessInfo.processInfo.environment["FUZZ_VERBOSE"] != nil

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzGRPC(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let code = Harness.shared.send(Array(UnsafeBufferPointer(start: data, count: size)))
    if verbose { print(code.map { "\($0)" } ?? "ok") }
    precondition(code == nil || allowed.contains(code!), "ModelInfer answered \(code!)")
    return 0
}
