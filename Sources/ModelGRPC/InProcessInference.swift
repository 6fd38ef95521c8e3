import Foundation
import GRPCCore
import ModelServer
import SwiftProtobuf

/// `ModelInfer` without a transport: a serialized `inference.ModelInferRequest` in, the serialized
/// response out, through the same checks, admission and model as the gRPC service. For the
/// request fuzzer (Fuzz/GRPC), and for callers in the same process.
///
/// ```swift
/// let call = InProcessInference(server: server)
/// let response = try await call.modelInfer(serialized: requestBytes)   // RPCError, as a client would get it
/// ```
public struct InProcessInference: Sendable {
    let service: InferenceService

    public init(server: ModelServer) {
        service = InferenceService(host: server.host, admission: server.admission)
    }

    public func modelInfer(serialized: [UInt8]) async throws -> [UInt8] {
        let request: Inference_ModelInferRequest
        do { request = try Inference_ModelInferRequest(serializedBytes: serialized) } catch {
            throw RPCError(code: .invalidArgument, message: "not an inference.ModelInferRequest: \(error)")
        }
        return try await service.infer(request).serializedBytes()
    }
}
