import GRPCCore
import ImagePipeline
import ModelEngine
import ModelRuntime
import ModelServer

extension RPCError {
    /// The gRPC status for a domain error: the one place the gRPC service maps them, as
    /// `APIError.from` does for HTTP. A full queue or server is UNAVAILABLE with a
    /// `retry-after-ms` hint in the trailers, limits are RESOURCE_EXHAUSTED.
    static func from(_ error: any Error) -> RPCError {
        let retry: Metadata = ["retry-after-ms": "1000"]
        switch error {
        case let e as RPCError: return e
        case let e as ImageError: return RPCError(code: e.exceedsLimit ? .resourceExhausted : .invalidArgument, message: e.description)
        case PredictionError.invalid(let why): return RPCError(code: .invalidArgument, message: why)
        case PredictionError.tooLarge(let why): return RPCError(code: .resourceExhausted, message: why)
        case PredictionError.unknownModel(let why): return RPCError(code: .notFound, message: why)
        case PredictionError.notReady(let why): return RPCError(code: .unavailable, message: why, metadata: retry)
        case ModelError.invalidInput(let why): return RPCError(code: .invalidArgument, message: why)
        case AdmissionError.atCapacity(let limit):
            return RPCError(code: .unavailable, message: "the server is at capacity (\(limit) requests in progress); retry shortly", metadata: retry)
        case AdmissionError.bodiesFull:
            return RPCError(code: .unavailable, message: "the server is holding too many request bodies; retry shortly", metadata: retry)
        case Batcher.BatcherError.queueFull: return RPCError(code: .unavailable, message: "the server is at capacity; retry shortly", metadata: retry)
        case Batcher.BatcherError.timedOut:
            return RPCError(code: .unavailable, message: "the request waited too long in the queue", metadata: retry)
        case Batcher.BatcherError.stopped: return RPCError(code: .unavailable, message: "the server is shutting down")
        default: return RPCError(code: .internalError, message: "internal error: \(error)")
        }
    }

    /// Runs `work`, answering any error it throws with its gRPC status.
    static func mapping<T>(_ work: () throws -> T) throws -> T {
        do { return try work() } catch { throw from(error) }
    }

    static func mapping<T>(_ work: () async throws -> T) async throws -> T {
        do { return try await work() } catch { throw from(error) }
    }
}
