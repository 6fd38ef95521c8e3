import Foundation
import Hummingbird
import HTTPTypes
import HummingbirdTesting
import TestSupport
import Testing

@testable import ModelServer

/// Every protocol's routes, in process through `app.test(.router)`, against ``TinyModel``: what a
/// client sends and what it gets back. (ServingTests drives the real model over real sockets.)
@Suite("Routes, in process")
struct RouteTests {
    static let json: HTTPFields = [.contentType: "application/json"]

    struct V2Response: Decodable {
        struct Output: Decodable {
            var name: String
            var datatype: String
            var shape: [Int]
            var data: [Float]?
            var parameters: [String: Int]?
        }
        var model_name: String
        var model_version: String
        var id: String?
        var outputs: [Output]
    }
    struct V2Labels: Decodable {
        struct Output: Decodable { var data: [String] }
        var outputs: [Output]
    }

    /// Two rows of 3×8×8: the first with channels 1, 2, 3; the second all 0.5.
    static let twoRows: [Float] = (0..<3).flatMap { c in [Float](repeating: Float(c + 1), count: 64) } + [Float](repeating: 0.5, count: 192)

    @Test("server and model metadata: V2, KServe V1, /version")
    func metadata() async throws {
        try await withTinyServer { client in
            let server = try await client.execute(uri: "/v2", method: .get)
            #expect(try server.json([String: AnyJSON].self)["name"] == .string(ServerInfo.name))
            let model = try await client.execute(uri: "/v2/models/tiny", method: .get)
            #expect(try model.json(V2ModelMetadata.Check.self) == .init(name: "tiny", versions: ["3"], inputs: [.init(name: "pixels", shape: [-1, 3, 8, 8])]))
            #expect(try await client.execute(uri: "/v2/models/tiny/versions/3/ready", method: .get).status == .ok)
            #expect(try await client.execute(uri: "/v2/models/tiny/versions/2", method: .get).status == .notFound)
            let v1 = try await client.execute(uri: "/v1/models/tiny", method: .get)
            #expect(try v1.json([String: AnyJSON].self) == ["name": .string("tiny"), "ready": .bool(true)])
        }
    }

    @Test("V2 infer: a JSON tensor in, the engine's outputs out, the request id echoed")
    func v2JSON() async throws {
        try await withTinyServer { client in
            let body = #"{"id": "r-1", "inputs": [{"name": "pixels", "shape": [2, 3, 8, 8], "datatype": "FP32", "data": \#(Self.twoRows)}]}"#
            let r = try await client.execute(uri: "/v2/models/tiny/infer", method: .post, headers: Self.json, body: ByteBuffer(string: body))
            #expect(r.status == .ok, "\(r.error)")
            let answer = try r.json(V2Response.self)
            #expect(answer.id == "r-1" && answer.model_name == "tiny" && answer.model_version == "3")
            #expect(answer.outputs[0].name == "scores" && answer.outputs[0].shape == [2, 4])
            #expect(answer.outputs[0].data == [1, 2, 3, 0.25, 0.5, 0.5, 0.5, 0.25])
        }
    }

    @Test("V2 binary tensor extension: FP32 bytes after the JSON, in and out")
    func v2Binary() async throws {
        try await withTinyServer { client in
            let header = #"{"inputs": [{"name": "pixels", "shape": [2, 3, 8, 8], "datatype": "FP32", "parameters": {"binary_data_size": 1536}}], "parameters": {"binary_data_output": true}}"#
            var body = ByteBuffer(string: header)
            Self.twoRows.withUnsafeBytes { body.writeBytes($0) }
            var headers = HTTPFields()
            headers[HTTPField.Name("Inference-Header-Content-Length")!] = "\(header.utf8.count)"
            let r = try await client.execute(uri: "/v2/models/tiny/infer", method: .post, headers: headers, body: body)
            #expect(r.status == .ok, "\(r.error)")
            let jsonLength = try #require(r.headers[HTTPField.Name("Inference-Header-Content-Length")!].flatMap { Int($0) })
            let bytes = Array(r.body.readableBytesView)
            let answer = try JSONDecoder().decode(V2Response.self, from: Data(bytes[..<jsonLength]))
            #expect(answer.outputs[0].parameters?["binary_data_size"] == 32)
            let floats = bytes[jsonLength...].withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
            #expect(floats == [1, 2, 3, 0.25, 0.5, 0.5, 0.5, 0.25])
        }
    }

    @Test("V2 BYTES input holds encoded images; the classification extension answers score:index:label")
    func v2Images() async throws {
        try await withTinyServer { client in
            let images = [TinyModel.redPNG, TinyModel.blueJPEG].map { "\"\(Data($0).base64EncodedString())\"" }.joined(separator: ",")
            let body = #"{"inputs": [{"name": "pixels", "shape": [2], "datatype": "BYTES", "data": [\#(images)]}], "outputs": [{"name": "scores", "parameters": {"classification": 1}}]}"#
            let r = try await client.execute(uri: "/v2/models/tiny/infer", method: .post, headers: Self.json, body: ByteBuffer(string: body))
            #expect(r.status == .ok, "\(r.error)")
            let labels = try r.json(V2Labels.self).outputs[0].data
            #expect(labels.count == 2 && labels[0].hasSuffix(":0:red") && labels[1].hasSuffix(":2:blue"), "\(labels)")
        }
    }

    @Test("KServe V1 :predict (tensors or base64 images) and :classify (raw image or multipart, top_k)")
    func kserveV1() async throws {
        try await withTinyServer { client in
            let tensors = #"{"instances": [\#(Array(Self.twoRows[..<192])), \#(Array(Self.twoRows[192...]))]}"#
            let predict = try await client.execute(uri: "/v1/models/tiny:predict", method: .post, headers: Self.json, body: ByteBuffer(string: tensors))
            #expect(try predict.json([String: [[Float]]].self)["predictions"] == [[1, 2, 3, 0.25], [0.5, 0.5, 0.5, 0.25]])
            let b64 = #"{"instances": [{"b64": "\#(Data(TinyModel.blueJPEG).base64EncodedString())"}]}"#
            let image = try await client.execute(uri: "/v1/models/tiny:predict", method: .post, headers: Self.json, body: ByteBuffer(string: b64))
            let row = try #require(try image.json([String: [[Float]]].self)["predictions"]?.first)
            #expect(row[2] > 0.9 && row[0] < 0.1, "\(row)")

            let raw = try await client.execute(
                uri: "/v1/models/tiny:classify?top_k=2",
                method: .post,
                headers: [.contentType: "image/png"],
                body: ByteBuffer(bytes: TinyModel.redPNG)
            )
            let top = try raw.json(V1ClassifyResponse.Check.self)
            #expect(top.model == "tiny" && top.predictions.map { $0.map(\.label) } == [["red", "bias"]])

            var form = ByteBuffer(string: "--b\r\nContent-Disposition: form-data; name=\"a\"; filename=\"a.jpg\"\r\nContent-Type: image/jpeg\r\n\r\n")
            form.writeBytes(TinyModel.blueJPEG)
            form.writeString("\r\n--b\r\nContent-Type: image/png\r\n\r\n")
            form.writeBytes(TinyModel.redPNG)
            form.writeString("\r\n--b--\r\n")
            let multi = try await client.execute(
                uri: "/v1/models/tiny:classify?top_k=1",
                method: .post,
                headers: [.contentType: "multipart/form-data; boundary=b"],
                body: form
            )
            #expect(try multi.json(V1ClassifyResponse.Check.self).predictions.map { $0.map(\.label) } == [["blue"], ["red"]])
        }
    }

    @Test("the Flask contract: input as a string holding a list of b'…' base64 images")
    func flask() async throws {
        try await withTinyServer { client in
            let inner = "[\\\"b'\(Data(TinyModel.redPNG).base64EncodedString())'\\\"]"
            let r = try await client.execute(uri: "/score", method: .post, headers: Self.json, body: ByteBuffer(string: "{\"input\": \"\(inner)\"}"))
            #expect(r.status == .ok, "\(r.error)")
            let result = try #require(try JSONSerialization.jsonObject(with: Data(r.body.readableBytesView)) as? [String: [Any]])["result"]
            let first = (result?[0] as? [[[Any]]])?[0][0]
            #expect(first?[0] as? String == "red")
            #expect((result?[1] as? String)?.hasPrefix("Computed in ") == true)
        }
    }

    @Test("bad requests get a 4xx JSON error naming what was wrong", arguments: [
        ("/v2/models/tiny/infer", "{\"inputs\": [", 400, "malformed JSON"),
        ("/v2/models/tiny/infer", "{}", 400, "missing field \"inputs\""),
        ("/v2/models/tiny/infer", #"{"inputs": [], "outputs": [{"name": "scores", "parameters": {"classification": 2.5}}]}"#, 400, "does not fit its field"),
        ("/v2/models/tiny/infer", #"{"inputs": [{"name": "pixels", "shape": "2", "datatype": "FP32"}]}"#, 400, "inputs[0].shape must be a list"),
        ("/v2/models/tiny/infer", #"{"id": 7, "inputs": []}"#, 400, "id must be a string"),
        ("/v2/models/tiny/infer", #"{"inputs": [{"name": "x", "shape": [1], "datatype": "FP32", "data": [1]}]}"#, 400, "unknown input 'x'"),
        ("/v2/models/tiny/infer", #"{"inputs": [{"name": "pixels", "shape": [1, 3, 8, 8], "datatype": "FP32", "data": [1, [2]]}]}"#, 400, "needs 192 elements"),
        ("/v2/models/tiny/infer", #"{"inputs": [{"name": "pixels", "shape": [1, 3, 8, 8], "datatype": "FP32", "data": [{"a": 1}]}]}"#, 400, "inputs[0].data[0] must be a number, a string or a list"),
        ("/v2/models/tiny/infer", #"{"inputs": [{"name": "pixels", "shape": [1, 3, 8, 8], "datatype": "FP32", "data": [1, "a"]}]}"#, 400, "mixes numbers and strings"),
        ("/v2/models/tiny/infer", #"{"inputs": [{"name": "pixels", "shape": [9223372036854775807, 2], "datatype": "FP32", "data": [1]}]}"#, 400, "fits 64 bits"),
        ("/v2/models/tiny/infer", #"{"inputs": [{"name": "pixels", "shape": [33, 3, 8, 8], "datatype": "FP32", "data": []}]}"#, 413, "MAX_ROWS_PER_REQUEST"),
        ("/v2/models/tiny/infer", #"{"inputs": [{"name": "pixels", "shape": [1], "datatype": "BYTES", "data": ["a"]}], "outputs": [{"name": "scores", "parameters": {"classification": 5}}]}"#, 400, "classification must be between 1 and 4"),
        ("/v2/models/other/infer", "{}", 404, "unknown model 'other'"),
        ("/v1/models/tiny:predict", #"{"instances": [{"b64": 5}]}"#, 400, "instances[0].b64 must be a string"),
        ("/v1/models/tiny:predict", #"{"instances": [[1, 2]]}"#, 400, "must hold 192 numbers"),
        ("/score", #"{"input": 5}"#, 400, "input must be a list"),
        ("/score", #"{"input": []}"#, 400, "holds no images"),
    ])
    func badRequests(path: String, body: String, status: Int, message: String) async throws {
        try await withTinyServer { client in
            let r = try await client.execute(uri: path, method: .post, headers: Self.json, body: ByteBuffer(string: body))
            #expect(r.status.code == status, "\(r.error)")
            #expect(r.error.contains(message), "\(r.error)")
        }
    }

    @Test("query parameters and content types are checked, not guessed")
    func parametersAndTypes() async throws {
        try await withTinyServer { client in
            let png = ByteBuffer(bytes: TinyModel.redPNG)
            for k in ["abc", "0", "1001"] {
                let r = try await client.execute(uri: "/v1/models/tiny:classify?top_k=\(k)", method: .post, headers: [.contentType: "image/png"], body: png)
                #expect(r.status == .badRequest && r.error.contains("top_k"), "top_k=\(k): \(r.error)")
            }
            let text = try await client.execute(uri: "/v1/models/tiny:classify", method: .post, headers: [.contentType: "text/plain"], body: png)
            #expect(text.status == .unsupportedMediaType)
            let score = try await client.execute(uri: "/score", method: .post, headers: [.contentType: "text/plain"], body: ByteBuffer(string: "{}"))
            #expect(score.status == .unsupportedMediaType)
            let method = try await client.execute(uri: "/v2/models/tiny/infer", method: .get)
            #expect(method.status == .methodNotAllowed && method.headers[.allow] == "POST")
        }
    }

    @Test("before the model is ready: probes say so, predictions get 503 with Retry-After")
    func notReady() async throws {
        try await withTinyServer(load: false) { client in
            #expect(try await client.execute(uri: "/", method: .get).status == .ok)
            #expect(try await client.execute(uri: "/v2/health/live", method: .get).status == .ok)
            #expect(try await client.execute(uri: "/v2/health/ready", method: .get).status == .serviceUnavailable)
            let r = try await client.execute(uri: "/v1/models/tiny:classify", method: .post, headers: [.contentType: "image/png"], body: ByteBuffer(bytes: TinyModel.redPNG))
            #expect(r.status == .serviceUnavailable && r.headers[.retryAfter] == "1" && r.error.contains("loading"))
        }
    }

    @Test("with API keys: model routes need one (Bearer or X-API-Key), probes and metadata do not")
    func apiKeys() async throws {
        try await withTinyServer(configure: { $0.apiKeys = ["k-1"] }) { client in
            func status(_ uri: String, _ headers: HTTPFields = [:]) async throws -> HTTPResponse.Status {
                try await client.execute(uri: uri, method: .get, headers: headers).status
            }
            let open = [try await status("/v2/health/ready"), try await status("/v2")]
            let keyed = [
                try await status("/v2/models/tiny"), try await status("/v2/models/tiny", [.authorization: "Bearer k-2"]),
                try await status("/v2/models/tiny", [.authorization: "Bearer k-1"]), try await status("/v2/models/tiny", [HTTPField.Name("X-API-Key")!: "k-1"]),
            ]
            #expect(open == [.ok, .ok])
            #expect(keyed == [.unauthorized, .unauthorized, .ok, .ok])
        }
    }

    @Test("a body over MAX_BODY_BYTES is refused with 413 before it is parsed")
    func bodyLimit() async throws {
        try await withTinyServer(configure: { $0.bodyLimits.maxBodyBytes = 1000 }) { client in
            let r = try await client.execute(uri: "/v2/models/tiny/infer", method: .post, headers: Self.json, body: ByteBuffer(repeating: 0x20, count: 1001))
            #expect(r.status == .contentTooLarge && r.error.contains("1000"))
        }
    }
}

/// Any JSON value, to compare answers whose shape the test does not need in full.
enum AnyJSON: Decodable, Equatable {
    case string(String), number(Double), bool(Bool), null, list([AnyJSON]), object([String: AnyJSON])

    init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() { self = .null }
        else if let b = try? c.decode(Bool.self) { self = .bool(b) }
        else if let n = try? c.decode(Double.self) { self = .number(n) }
        else if let s = try? c.decode(String.self) { self = .string(s) }
        else if let l = try? c.decode([AnyJSON].self) { self = .list(l) }
        else { self = .object(try c.decode([String: AnyJSON].self)) }
    }
}

extension V2ModelMetadata {
    /// The fields a client checks.
    struct Check: Decodable, Equatable {
        struct Tensor: Decodable, Equatable {
            var name: String
            var shape: [Int]
        }
        var name: String
        var versions: [String]
        var inputs: [Tensor]
    }
}

extension V1ClassifyResponse {
    struct Check: Decodable {
        struct Prediction: Decodable {
            var index: Int
            var label: String
            var score: Float
        }
        var model: String
        var predictions: [[Prediction]]
    }
}
