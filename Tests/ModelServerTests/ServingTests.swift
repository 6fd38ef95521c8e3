import Foundation
import TestSupport
import Testing

@testable import ModelServer

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// The prediction API on a real listening server, driven by real clients.
@Suite("Prediction API", .serialized)
struct ServingTests {
    func requirements() throws {
        try #require(Paths.demoArtifactExists, "the demo model is missing: run `make model`")
        try #require(Paths.imagesExist, "test images are missing: run `make test-data`")
    }

    func serve<T: Sendable>(configure: (inout ServerConfiguration) -> Void = { _ in }, _ body: @Sendable (URL) async throws -> T) async throws -> T {
        try requirements()
        return try await withTestServer(modelDirectory: Paths.demoModel, configure: configure) { base, _ in
            try await waitUntilReady(base)
            return try await body(base)
        }
    }

    @Test("the original Flask client gets the label at result[0][0][0][0]")
    func flaskClient() async throws {
        try await serve { base in
            for (file, label) in [("camera.png", "n04485082 tripod"), ("coffee.jpg", "n07920052 espresso")] {
                let out = try await python("flask_client.py", [base.appendingPathComponent("score").absoluteString, Paths.image(file).path])
                let json = jsonObject(Data(out.utf8))
                #expect(json["label"] as? String == label, "\(file): \(out)")
                #expect((json["timing"] as? String)?.hasPrefix("Computed in ") == true)
            }
        }
    }

    @Test("Triton's HTTP client: health, metadata, infer with and without binary data, classification, BYTES images")
    func tritonClient() async throws {
        try await serve { base in
            let out = try await python("triton_client.py", ["127.0.0.1:\(base.port!)", Paths.demoModel.path, Paths.image("coffee.jpg").path])
            let r = jsonObject(Data(out.utf8))
            #expect(r["live"] as? Bool == true && r["ready"] as? Bool == true && r["model_ready"] as? Bool == true)
            #expect((r["metadata"] as? [String: Any])?["name"] as? String == "efficientnet-lite0")
            #expect(r["top1_binary_true"] as? Int == 967 && r["top1_binary_false"] as? Int == 967)
            #expect(r["shape_binary_true"] as? [Int] == [1, 1000])
            for key in ["classification_binary_true", "classification_binary_false"] {
                let entries = r[key] as? [String] ?? []
                #expect(entries.count == 3, "\(key): \(entries)")
                #expect(entries.first?.hasSuffix(":967:n07920052 espresso") == true, "\(key): \(entries)")
            }
            #expect((r["bytes_image_top1"] as? [String])?.first?.hasSuffix(":967:n07920052 espresso") == true, "\(r["bytes_image_top1"] ?? "")")
        }
    }

    @Test("raw image and multipart bodies to :classify")
    func classify() async throws {
        try await serve { base in
            let url = base.appendingPathComponent("v1/models/efficientnet-lite0:classify")
            var c = URLComponents(url: url, resolvingAgainstBaseURL: false)!
            c.queryItems = [URLQueryItem(name: "top_k", value: "2")]
            let raw = try await http("POST", c.url!, body: try Data(contentsOf: Paths.image("coffee.jpg")), headers: ["Content-Type": "image/jpeg"])
            #expect(raw.status == 200, "\(raw.text)")
            let preds = jsonObject(raw.body)["predictions"] as? [[[String: Any]]]
            #expect(preds?.count == 1 && preds?[0].count == 2)
            #expect(preds?[0][0]["index"] as? Int == 967)

            let boundary = "test-boundary-\(UUID().uuidString)"
            var form = Data()
            for (name, type) in [("coffee.jpg", "image/jpeg"), ("camera.png", "image/png")] {
                form += Data(
                    "--\(boundary)\r\nContent-Disposition: form-data; name=\"file\"; filename=\"\(name)\"\r\nContent-Type: \(type)\r\n\r\n".utf8
                )
                form += try Data(contentsOf: Paths.image(name)) + Data("\r\n".utf8)
            }
            form += Data("--\(boundary)--\r\n".utf8)
            let multi = try await http("POST", url, body: form, headers: ["Content-Type": "multipart/form-data; boundary=\(boundary)"])
            #expect(multi.status == 200, "\(multi.text)")
            let both = jsonObject(multi.body)["predictions"] as? [[[String: Any]]]
            #expect(both?.map { $0[0]["index"] as? Int } == [967, 872])
        }
    }

    @Test("KServe V1 :predict with a base64 image")
    func v1Predict() async throws {
        try await serve { base in
            let b64 = try Data(contentsOf: Paths.image("coffee.jpg")).base64EncodedString()
            let body = try JSONSerialization.data(withJSONObject: ["instances": [["b64": b64]]])
            let r = try await http(
                "POST",
                base.appendingPathComponent("v1/models/efficientnet-lite0:predict"),
                body: body,
                headers: ["Content-Type": "application/json"]
            )
            let rows = jsonObject(r.body)["predictions"] as? [[Double]]
            #expect(rows?.count == 1 && rows?[0].count == 1000)
            #expect(rows?[0].indices.max { rows![0][$0] < rows![0][$1] } == 967)
            #expect(try await http("GET", base.appendingPathComponent("v1/models/efficientnet-lite0")).status == 200)
        }
    }

    @Test("bad input gets a 4xx JSON error that says what was wrong, and the server keeps serving")
    func badInput() async throws {
        try await serve(configure: { $0.bodyLimits.maxBodyBytes = 1 << 20 }) { base in
            let score = base.appendingPathComponent("score")
            let v2 = base.appendingPathComponent("v2/models/efficientnet-lite0/infer")
            let classify = base.appendingPathComponent("v1/models/efficientnet-lite0:classify")
            let jpeg = try Data(contentsOf: Paths.image("coffee.jpg"))
            // A PNG header claiming 50000×50000 pixels: refused before decoding.
            var bomb = Data([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 13]) + Data("IHDR".utf8)
            bomb += Data([0, 0, 0xC3, 0x50, 0, 0, 0xC3, 0x50, 8, 2, 0, 0, 0, 0x00, 0x00, 0x00, 0x00])
            let cases: [(String, URL, Data, [String: String], Int, String)] = [
                ("wrong content type", score, Data("{}".utf8), ["Content-Type": "text/plain"], 415, "Content-Type"),
                ("malformed JSON", score, Data("{\"input\": [".utf8), ["Content-Type": "application/json"], 400, "malformed JSON"),
                ("no input field", score, Data("{}".utf8), ["Content-Type": "application/json"], 400, "\"input\""),
                ("not base64", score, Data("{\"input\": [\"%%%\"]}".utf8), ["Content-Type": "application/json"], 400, "base64"),
                (
                    "deep nesting", score, Data((String(repeating: "[", count: 5000) + String(repeating: "]", count: 5000)).utf8),
                    ["Content-Type": "application/json"], 400, "nests deeper"
                ),
                ("body too large", classify, Data(count: 2 << 20), ["Content-Type": "image/jpeg"], 413, "limit"),
                ("truncated JPEG", classify, jpeg.prefix(3000), ["Content-Type": "image/jpeg"], 400, "corrupt"),
                ("zero bytes", classify, Data(), ["Content-Type": "image/jpeg"], 400, "empty"),
                ("not an image", classify, Data("hello".utf8), ["Content-Type": "image/png"], 400, "not a JPEG or PNG"),
                ("decompression bomb", classify, bomb, ["Content-Type": "image/png"], 413, "50000×50000"),
                (
                    "unknown model", base.appendingPathComponent("v1/models/resnet:classify"), jpeg, ["Content-Type": "image/jpeg"], 404,
                    "unknown model"
                ),
                (
                    "wrong shape", v2, Data(#"{"inputs":[{"name":"input","shape":[1,3,2,2],"datatype":"FP32","data":[1,2,3]}]}"#.utf8),
                    ["Content-Type": "application/json"], 400, "does not fit"
                ),
                (
                    "wrong element count", v2, Data(#"{"inputs":[{"name":"input","shape":[1,3,224,224],"datatype":"FP32","data":[1,2,3]}]}"#.utf8),
                    ["Content-Type": "application/json"], 400, "needs 150528 elements"
                ),
                (
                    "strings as numbers", v2, Data(#"{"inputs":[{"name":"input","shape":[1],"datatype":"FP32","data":["x"]}]}"#.utf8),
                    ["Content-Type": "application/json"], 400, "input"
                ),
                (
                    "unknown input name", v2, Data(#"{"inputs":[{"name":"pixels","shape":[1],"datatype":"FP32","data":[1]}]}"#.utf8),
                    ["Content-Type": "application/json"], 400, "unknown input"
                ),
                ("bad binary header", v2, Data("{}".utf8), ["Inference-Header-Content-Length": "999"], 400, "does not fit"),
            ]
            for (what, url, body, headers, status, fragment) in cases {
                let r = try await http("POST", url, body: body, headers: headers)
                #expect(r.status == status, "\(what): \(r.status) \(r.text)")
                let message = jsonObject(r.body)["error"] as? String ?? ""
                #expect(message.contains(fragment), "\(what): error '\(message)' should mention '\(fragment)'")
            }
            let missing = try await http("GET", base.appendingPathComponent("no/such/route"))
            #expect(missing.status == 404 && jsonObject(missing.body)["error"] != nil)
            // Still serving.
            let ok = try await http("POST", classify, body: jpeg, headers: ["Content-Type": "image/jpeg"])
            #expect(ok.status == 200)
        }
    }

    @Test("concurrent requests are batched; /metrics parses with prometheus_client")
    func batchingAndMetrics() async throws {
        try await serve(configure: { $0.batching.maxQueueDelay = .milliseconds(5) }) { base in
            let url = base.appendingPathComponent("v1/models/efficientnet-lite0:classify")
            let jpeg = try Data(contentsOf: Paths.image("coffee.jpg"))
            try await withThrowingTaskGroup(of: Int.self) { group in
                for _ in 0..<16 { group.addTask { try await http("POST", url, body: jpeg, headers: ["Content-Type": "image/jpeg"]).status } }
                for try await status in group { #expect(status == 200) }
            }
            #expect(try await http("POST", url, body: Data("not an image".utf8), headers: ["Content-Type": "image/jpeg"]).status == 400)
            let text = try await http("GET", base.appendingPathComponent("metrics")).text
            let parsed = try await python("parse_metrics.py", [text])
            let m = jsonObject(Data(parsed.utf8))
            let executions = m["model_server_inference_exec_count_total"] as? Double ?? 0
            let inferences = m["model_server_inference_count_total"] as? Double ?? 0
            #expect(inferences >= 16 && executions < inferences, "inferences \(inferences), executions \(executions): no batching")
            #expect((m["model_server_model_info"] as? Double) == 1)
            #expect((m["requests_classify_200"] as? Double ?? 0) >= 16)
            #expect((m["requests_classify_400"] as? Double) == 1, "error responses are counted too")
        }
    }

    @Test("a full queue answers 503 with Retry-After at once")
    func queueFull() async throws {
        try await serve(configure: {
            $0.batching.maxQueueSize = 1
            $0.batching.maxBatchSize = 1
        }) { base in
            let url = base.appendingPathComponent("v1/models/efficientnet-lite0:classify")
            let jpeg = try Data(contentsOf: Paths.image("coffee.jpg"))
            let results = try await withThrowingTaskGroup(of: HTTPResult.self) { group in
                for _ in 0..<24 { group.addTask { try await http("POST", url, body: jpeg, headers: ["Content-Type": "image/jpeg"]) } }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            let rejected = results.filter { $0.status == 503 }
            let statuses = results.map(\.status).sorted()
            #expect(
                results.contains { $0.status == 200 },
                "statuses: \(statuses) \(results.first { $0.status != 200 && $0.status != 503 }?.text ?? "")"
            )
            #expect(!rejected.isEmpty, "24 concurrent requests against a queue of 1: none refused; statuses: \(statuses)")
            #expect(
                rejected.allSatisfy { $0.headers["retry-after"] == "1" && (jsonObject($0.body)["error"] as? String)?.contains("capacity") == true }
            )
        }
    }

    @Test("beyond MAX_CONCURRENT_REQUESTS, requests get 503 at the door; then the server serves again")
    func admissionLimit() async throws {
        try await serve(configure: {
            $0.maxConcurrentRequests = 2
            $0.batching.maxBatchSize = 1
        }) { base in
            let url = base.appendingPathComponent("v1/models/efficientnet-lite0:classify")
            let jpeg = try Data(contentsOf: Paths.image("coffee.jpg"))
            let results = try await withThrowingTaskGroup(of: HTTPResult.self) { group in
                for _ in 0..<16 { group.addTask { try await http("POST", url, body: jpeg, headers: ["Content-Type": "image/jpeg"]) } }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            let shed = results.filter { $0.status == 503 }
            #expect(!shed.isEmpty, "16 concurrent requests against a limit of 2: none refused")
            #expect(
                shed.allSatisfy {
                    $0.headers["retry-after"] == "1" && (jsonObject($0.body)["error"] as? String)?.contains("2 requests in progress") == true
                }
            )
            #expect(results.allSatisfy { $0.status == 200 || $0.status == 503 })
            #expect(try await http("GET", base.appendingPathComponent("v2/health/ready")).status == 200, "probes are never shed")
            #expect(try await http("POST", url, body: jpeg, headers: ["Content-Type": "image/jpeg"]).status == 200)
        }
    }

    @Test("a request that waits in the queue past its timeout gets 503")
    func queueTimeout() async throws {
        try await serve(configure: {
            $0.batching.timeout = .milliseconds(1)
            $0.batching.maxBatchSize = 1
        }) { base in
            let url = base.appendingPathComponent("v1/models/efficientnet-lite0:classify")
            let jpeg = try Data(contentsOf: Paths.image("coffee.jpg"))
            let results = try await withThrowingTaskGroup(of: HTTPResult.self) { group in
                for _ in 0..<12 { group.addTask { try await http("POST", url, body: jpeg, headers: ["Content-Type": "image/jpeg"]) } }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            let timedOut = results.filter { $0.status == 503 && (jsonObject($0.body)["error"] as? String)?.contains("waited too long") == true }
            #expect(!timedOut.isEmpty, "12 concurrent requests, one at a time, 1 ms timeout: none timed out")
            #expect(results.allSatisfy { $0.status == 200 || $0.status == 503 })
        }
    }
}
