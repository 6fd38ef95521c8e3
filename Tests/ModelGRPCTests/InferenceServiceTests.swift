import Foundation
import GRPCCore
import ModelServer
import ServerTestSupport
import TestSupport
import Testing

@testable import ModelGRPC

/// `ModelInfer` in process (``InProcessInference``: the service without a transport) against
/// TinyModel's stand-in engine: the protobuf request in each of its forms, and the status codes a
/// client gets. (GRPCTests in ModelServerTests drives the real binary with Triton's client.)
@Suite("gRPC ModelInfer, in process")
struct InferenceServiceTests {
    /// Two rows of 3×8×8: channels 1, 2, 3; then all 0.5. The engine answers each channel's mean, then 0.25.
    static let twoRows: [Float] = (0..<3).flatMap { c in [Float](repeating: Float(c + 1), count: 64) } + [Float](repeating: 0.5, count: 192)
    static let expected: [Float] = [1, 2, 3, 0.25, 0.5, 0.5, 0.5, 0.25]

    func withService(
        configure: (inout ServerConfiguration) -> Void = { _ in },
        load: Bool = true,
        _ body: (InProcessInference) async throws -> Void
    ) async throws {
        try await body(InProcessInference(server: await TinyServer.make(configure: configure, load: load)))
    }

    func request(_ datatype: String = "FP32", shape: [Int64] = [2, 3, 8, 8], _ fill: (inout Inference_ModelInferRequest) -> Void) -> [UInt8] {
        var r = Inference_ModelInferRequest()
        r.modelName = TinyModel.name
        r.id = "call-1"
        r.inputs = [.with {
            $0.name = "pixels"
            $0.datatype = datatype
            $0.shape = shape
        }]
        fill(&r)
        return try! r.serializedBytes()
    }

    func floats(_ response: [UInt8]) throws -> (Inference_ModelInferResponse, [Float]) {
        let r = try Inference_ModelInferResponse(serializedBytes: response)
        let raw = try #require(r.rawOutputContents.first)
        return (r, raw.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) })
    }

    /// The status code a call ends with.
    func code(_ call: InProcessInference, _ bytes: [UInt8]) async -> RPCError.Code? {
        do {
            _ = try await call.modelInfer(serialized: bytes)
            return nil
        } catch {
            return (error as? RPCError)?.code
        }
    }

    @Test("the same tensor as raw_input_contents, as fp32_contents, and as int_contents for INT8 gives the engine's outputs")
    func tensorForms() async throws {
        try await withService { call in
            let raw = request { $0.rawInputContents = [Self.twoRows.withUnsafeBytes { Data($0) }] }
            let typed = request { $0.inputs[0].contents.fp32Contents = Self.twoRows }
            let int8 = request("INT8") { $0.inputs[0].contents.intContents = Self.twoRows.map { Int32($0 * 2) } }
            let (answer, values) = try floats(try await call.modelInfer(serialized: raw))
            #expect(answer.id == "call-1" && answer.modelName == "tiny" && answer.modelVersion == "3")
            #expect(answer.outputs.map(\.name) == ["scores"] && answer.outputs[0].shape == [2, 4] && answer.outputs[0].datatype == "FP32")
            #expect(values == Self.expected)
            #expect(try floats(try await call.modelInfer(serialized: typed)).1 == Self.expected)
            #expect(try floats(try await call.modelInfer(serialized: int8)).1 == Self.expected.map { $0 == 0.25 ? 0.25 : $0 * 2 })
        }
    }

    @Test("BYTES contents hold encoded images; classification answers score:index:label as raw BYTES")
    func images() async throws {
        try await withService { call in
            let bytes = request("BYTES", shape: [2]) {
                $0.inputs[0].contents.bytesContents = [Data(TinyModel.redPNG), Data(TinyModel.blueJPEG)]
                $0.outputs = [.with {
                    $0.name = "scores"
                    $0.parameters["classification"] = .with { $0.int64Param = 1 }
                }]
            }
            let answer = try Inference_ModelInferResponse(serializedBytes: try await call.modelInfer(serialized: bytes))
            #expect(answer.outputs[0].datatype == "BYTES" && answer.outputs[0].shape == [2, 1])
            // Each element: a 4-byte little-endian length, then the text.
            var labels: [String] = []
            var rest = [UInt8](answer.rawOutputContents[0])[...]
            while rest.count >= 4 {
                let n = Int(rest[rest.startIndex]) | Int(rest[rest.startIndex + 1]) << 8
                labels.append(String(decoding: rest.dropFirst(4).prefix(n), as: UTF8.self))
                rest = rest.dropFirst(4 + n)
            }
            #expect(labels.count == 2 && labels[0].hasSuffix(":0:red") && labels[1].hasSuffix(":2:blue"), "\(labels)")
        }
    }

    @Test("bad requests end with the status a client can act on")
    func statuses() async throws {
        try await withService(configure: { $0.maxBufferedBodyBytes = 1 << 20; $0.bodyLimits.maxBodyBytes = 1 << 20 }) { call in
            let cases: [(String, [UInt8], RPCError.Code)] = [
                ("not a protobuf message", [0x0A, 0xFF, 0xFF, 0xFF, 0xFF, 0x0F], .invalidArgument),
                ("two inputs", request { $0.inputs.append($0.inputs[0]) }, .invalidArgument),
                ("unknown model", request { $0.modelName = String(repeating: "m", count: 100_000) }, .notFound),
                ("unknown version", request { $0.modelVersion = "9" }, .notFound),
                ("wrong shape", request(shape: [1, 3, 4, 4]) { $0.inputs[0].contents.fp32Contents = [Float](repeating: 0, count: 48) }, .invalidArgument),
                ("shape overflow", request(shape: [Int64.max, 2]) { $0.rawInputContents = [Data([0, 0, 0, 0])] }, .invalidArgument),
                ("33 rows", request(shape: [33, 3, 8, 8]) { $0.inputs[0].contents.fp32Contents = [0] }, .resourceExhausted),
                ("33 images", request("BYTES", shape: [33]) { $0.inputs[0].contents.bytesContents = Array(repeating: Data(TinyModel.redPNG), count: 33) }, .resourceExhausted),
                ("FP16 typed", request("FP16") { $0.inputs[0].contents.fp32Contents = [0] }, .invalidArgument),
                ("raw and typed", request { $0.rawInputContents = [Data([0])]; $0.inputs[0].contents.fp32Contents = [0] }, .invalidArgument),
                ("not an image", request("BYTES", shape: [1]) { $0.inputs[0].contents.bytesContents = [Data("text".utf8)] }, .invalidArgument),
                ("more than the body budget", request { $0.rawInputContents = [Data(count: 2 << 20)] }, .unavailable),
            ]
            for (what, bytes, want) in cases {
                let got = await code(call, bytes)
                #expect(got == want, "\(what): \(got.map { "\($0)" } ?? "ok"), expected \(want)")
            }
        }
    }

    @Test("before the model is loaded, ModelInfer is UNAVAILABLE with a retry hint")
    func notReady() async throws {
        try await withService(load: false) { call in
            do {
                _ = try await call.modelInfer(serialized: request { $0.inputs[0].contents.fp32Contents = Self.twoRows })
                Issue.record("answered before the model loaded")
            } catch let error as RPCError {
                #expect(error.code == .unavailable && error.metadata[stringValues: "retry-after-ms"].contains("1000"))
            }
        }
    }
}
