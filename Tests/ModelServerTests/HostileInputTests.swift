import Foundation
import TestSupport
import Testing

@testable import ModelServer

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// A corpus of broken, hostile and unusual requests against a live server. Each gets the right
/// status and, for errors, a JSON `{"error": ...}`; afterwards a normal request still succeeds.
@Suite("Hostile and broken input")
struct HostileInputTests {
    struct Case: Sendable, CustomStringConvertible {
        var name: String
        var method = "POST"
        var path: String
        var headers: [String: String] = [:]
        var body: Data = Data()
        var status: Int
        var description: String { name }
    }

    static let hostile = Paths.repoRoot.appendingPathComponent(".cache/images/hostile")
    static func file(_ name: String) -> Data { (try? Data(contentsOf: hostile.appendingPathComponent(name))) ?? Data() }
    static let classify = "/v1/models/efficientnet-lite0:classify"
    static let infer = "/v2/models/efficientnet-lite0/infer"
    static let json = ["Content-Type": "application/json"]
    static func v2(_ s: String) -> Data { Data(s.utf8) }

    static var cases: [Case] {
        var c: [Case] = []
        for (name, type, status) in [
            ("truncated.jpg", "image/jpeg", 400), ("truncated.png", "image/png", 400), ("corrupt.jpg", "image/jpeg", 400),
            ("corrupt.png", "image/png", 400), ("header-only.jpg", "image/jpeg", 400), ("zero.bin", "image/jpeg", 400),
            ("text.txt", "image/png", 400), ("pdf.pdf", "image/jpeg", 400), ("bomb.png", "image/png", 413), ("bomb.jpg", "image/jpeg", 413),
            ("animated.gif", "image/png", 400),
            // Unusual but valid images are classified.
            ("gray16.png", "image/png", 200), ("rgba.png", "image/png", 200), ("palette.png", "image/png", 200), ("cmyk.jpg", "image/jpeg", 200),
            ("progressive.jpg", "image/jpeg", 200), ("animated.png", "image/png", 200), ("tiny.png", "image/png", 200),
        ] {
            c.append(Case(name: "image \(name)", path: classify, headers: ["Content-Type": type], body: file(name), status: status))
        }
        let jpeg = file("progressive.jpg")
        c += [
            Case(name: "classify as text/plain", path: classify, headers: ["Content-Type": "text/plain"], body: jpeg, status: 415),
            Case(name: "classify without a content type", path: classify, body: jpeg, status: 415),
            Case(name: "multipart without boundary", path: classify, headers: ["Content-Type": "multipart/form-data"], body: jpeg, status: 400),
            Case(
                name: "multipart with no parts",
                path: classify,
                headers: ["Content-Type": "multipart/form-data; boundary=x"],
                body: Data("--x--\r\n".utf8),
                status: 400
            ),
            // Found by Fuzz/Request: MultipartKit 4.7.1 (since replaced) trapped on a non-ASCII header-name byte.
            Case(
                name: "multipart part header name with a byte >= 0x80",
                path: classify,
                headers: ["Content-Type": "multipart/form-data; boundary=fuzz"],
                body: Data("--fuzz\r\nContent-Disposition: form-data; name=\"a\"\r\nC".utf8) + Data([0x88, 0x88]) + Data(": y\r\n\r\n".utf8) + jpeg
                    + Data("\r\n--fuzz--\r\n".utf8),
                status: 400
            ),
            // Found by Fuzz/Request once it had coverage: a lone LF inside a header value, then a
            // header line starting with 0xFF (MultipartKit ended the headers elsewhere than the guard did).
            Case(
                name: "multipart LF inside a header value, then a non-token header name",
                path: classify,
                headers: ["Content-Type": "multipart/form-data; boundary=fuzz"],
                body: Data("--fuzz\r\nContent-: image/j".utf8) + Data([0xF6, 0xFF, 0x0A]) + Data("\r\n".utf8) + jpeg + Data("\r\n--fuzz--\r\n".utf8),
                status: 400
            ),
            Case(
                name: "multipart truncated before its closing boundary",
                path: classify,
                headers: ["Content-Type": "multipart/form-data; boundary=fuzz"],
                body: Data("--fuzz\r\nContent-Type: image/jpeg\r\n\r\n".utf8) + jpeg.prefix(1000),
                status: 400
            ),
            Case(
                name: "multipart boundary line without CRLF",
                path: classify,
                headers: ["Content-Type": "multipart/form-data; boundary=fuzz"],
                body: Data("--fuzzContent-Type: image/jpeg\r\n\r\n".utf8) + jpeg + Data("\r\n--fuzz--\r\n".utf8),
                status: 400
            ),
            Case(
                name: "multipart boundary of 71 characters",
                path: classify,
                headers: ["Content-Type": "multipart/form-data; boundary=\(String(repeating: "b", count: 71))"],
                body: jpeg,
                status: 400
            ),
            Case(
                name: "multipart with a quoted boundary, a charset parameter after it, a preamble and an epilogue (allowed)",
                path: classify,
                headers: ["Content-Type": "multipart/form-data; boundary=\"a b\"; charset=utf-8"],
                body: Data("preamble\r\n--a b\r\nContent-Type: image/jpeg\r\n\r\n".utf8) + jpeg + Data("\r\n--a b--\r\nepilogue".utf8),
                status: 200
            ),
            Case(
                name: "multipart with a UTF-8 filename (allowed)",
                path: classify,
                headers: ["Content-Type": "multipart/form-data; boundary=fuzz"],
                body: Data("--fuzz\r\nContent-Disposition: form-data; name=\"a\"; filename=\"café.jpg\"\r\nContent-Type: image/jpeg\r\n\r\n".utf8)
                    + jpeg + Data("\r\n--fuzz--\r\n".utf8),
                status: 200
            ),
            Case(name: "top_k=0", path: classify + "?top_k=0", headers: ["Content-Type": "image/jpeg"], body: jpeg, status: 400),
            Case(name: "score as text/plain", path: "/score", headers: ["Content-Type": "text/plain"], body: Data("{}".utf8), status: 415),
            Case(name: "score as XML", path: "/score", headers: ["Content-Type": "application/xml"], body: Data("<a/>".utf8), status: 415),
            Case(name: "score malformed JSON", path: "/score", headers: json, body: Data("{\"input\":".utf8), status: 400),
            Case(name: "score JSON array", path: "/score", headers: json, body: Data("[1,2]".utf8), status: 400),
            Case(name: "score input is a number", path: "/score", headers: json, body: Data("{\"input\": 5}".utf8), status: 400),
            Case(name: "score empty list", path: "/score", headers: json, body: Data("{\"input\": []}".utf8), status: 400),
            Case(name: "score list of numbers", path: "/score", headers: json, body: Data("{\"input\": [1]}".utf8), status: 400),
            Case(name: "score base64 of a non-image", path: "/score", headers: json, body: Data("{\"input\": [\"aGVsbG8=\"]}".utf8), status: 400),
            Case(name: "predict without instances", path: "/v1/models/efficientnet-lite0:predict", headers: json, body: Data("{}".utf8), status: 400),
            Case(
                name: "predict wrong size",
                path: "/v1/models/efficientnet-lite0:predict",
                headers: json,
                body: Data("{\"instances\": [[1,2,3]]}".utf8),
                status: 400
            ),
            Case(
                name: "predict as text/plain",
                path: "/v1/models/efficientnet-lite0:predict",
                headers: ["Content-Type": "text/plain"],
                body: Data("{}".utf8),
                status: 415
            ),
            Case(name: "v2 without inputs", path: infer, headers: json, body: v2("{}"), status: 400),
            Case(
                name: "v2 two inputs",
                path: infer,
                headers: json,
                body: v2(
                    #"{"inputs":[{"name":"input","shape":[1],"datatype":"FP32","data":[1]},{"name":"input","shape":[1],"datatype":"FP32","data":[1]}]}"#
                ),
                status: 400
            ),
            Case(
                name: "v2 unknown datatype",
                path: infer,
                headers: json,
                body: v2(#"{"inputs":[{"name":"input","shape":[1,3,224,224],"datatype":"FP99","data":[1]}]}"#),
                status: 400
            ),
            Case(
                name: "v2 negative shape",
                path: infer,
                headers: json,
                body: v2(#"{"inputs":[{"name":"input","shape":[-1,3,224,224],"datatype":"FP32","data":[1]}]}"#),
                status: 400
            ),
            Case(
                name: "v2 element count",
                path: infer,
                headers: json,
                body: v2(#"{"inputs":[{"name":"input","shape":[2,3,224,224],"datatype":"FP32","data":[1,2]}]}"#),
                status: 400
            ),
            Case(
                name: "v2 NaN literal",
                path: infer,
                headers: json,
                body: v2(#"{"inputs":[{"name":"input","shape":[1],"datatype":"FP32","data":[NaN]}]}"#),
                status: 400
            ),
            Case(
                name: "v2 infinity",
                path: infer,
                headers: json,
                body: v2(#"{"inputs":[{"name":"input","shape":[1,1,1,1],"datatype":"FP32","data":[1e999]}]}"#),
                status: 400
            ),
            Case(
                name: "v2 BYTES not base64",
                path: infer,
                headers: json,
                body: v2(#"{"inputs":[{"name":"input","shape":[1],"datatype":"BYTES","data":["%%%"]}]}"#),
                status: 400
            ),
            Case(
                name: "v2 binary size too large",
                path: infer,
                headers: ["Inference-Header-Content-Length": "83"],
                body: v2(#"{"inputs":[{"name":"input","shape":[1],"datatype":"BYTES","parameters":{"binary_data_size":99}}]}"#),
                status: 400
            ),
            Case(
                name: "v2 unknown output",
                path: infer,
                headers: json,
                body: v2(#"{"inputs":[{"name":"input","shape":[1],"datatype":"BYTES","data":[""]}],"outputs":[{"name":"nope"}]}"#),
                status: 400
            ),
            Case(
                name: "deeply nested JSON",
                path: infer,
                headers: json,
                body: Data((String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)).utf8),
                status: 400
            ),
            Case(
                name: "body over the limit",
                path: classify,
                headers: ["Content-Type": "image/jpeg"],
                body: Data(count: (16 << 20) + 1),
                status: 413
            ),
            Case(name: "unknown model (V2)", path: "/v2/models/resnet/infer", headers: json, body: v2("{}"), status: 404),
            Case(name: "unknown model (V1)", path: "/v1/models/resnet:classify", headers: ["Content-Type": "image/jpeg"], body: jpeg, status: 404),
            Case(name: "unknown version", method: "GET", path: "/v2/models/efficientnet-lite0/versions/7", status: 404),
            Case(name: "unknown route", method: "GET", path: "/admin", status: 404),
            // KServe V1 has :predict and :classify only; `m:explain` is then a model name, which has GET only.
            Case(name: "unknown action", path: "/v1/models/efficientnet-lite0:explain", headers: json, body: v2("{}"), status: 405),
            Case(name: "wrong method", method: "DELETE", path: "/score", status: 405),
            // Each of these ended the process before its shape and sizes were checked with overflow-checked arithmetic.
            Case(
                name: "v2 shape whose product overflows",
                path: infer,
                headers: json,
                body: v2(#"{"inputs":[{"name":"input","shape":[4611686018427387904,3,224,224],"datatype":"FP32","data":[1.0]}]}"#),
                status: 400
            ),
            Case(
                name: "v2 BYTES shape whose product overflows",
                path: infer,
                headers: json,
                body: v2(#"{"inputs":[{"name":"input","shape":[4611686018427387904,4],"datatype":"BYTES","data":["x"]}]}"#),
                status: 400
            ),
            Case(
                name: "v2 negative binary_data_size",
                path: infer,
                headers: ["Inference-Header-Content-Length": "86"],
                body: v2(#"{"inputs":[{"name":"input","shape":[1],"datatype":"BYTES","parameters":{"binary_data_size":-1}}]}"#),
                status: 400
            ),
            Case(
                name: "v2 Inference-Header-Content-Length past the body",
                path: infer,
                headers: ["Inference-Header-Content-Length": "9999"],
                body: v2("{}"),
                status: 400
            ),
            Case(
                name: "v2 more rows than MAX_ROWS_PER_REQUEST",
                path: infer,
                headers: json,
                body: v2(#"{"inputs":[{"name":"input","shape":[33,3,224,224],"datatype":"FP32","data":[1.0]}]}"#),
                status: 413
            ),
            Case(
                name: "v2 the output asked for twice",
                path: infer,
                headers: json,
                body: v2(
                    #"{"inputs":[{"name":"input","shape":[1],"datatype":"BYTES","data":["x"]}],"outputs":[{"name":"logits"},{"name":"logits"}]}"#
                ),
                status: 400
            ),
            Case(
                name: "JSON of more values than MAX_JSON_VALUES",
                path: infer,
                headers: json,
                body: v2(#"{"inputs":[{"name":"input","shape":[1],"datatype":"FP32","data":["# + String(repeating: "0,", count: 1_000_001) + "0]}]}"),
                status: 413
            ),
            Case(name: "top_k=abc", path: classify + "?top_k=abc", headers: ["Content-Type": "image/jpeg"], body: jpeg, status: 400),
            Case(
                name: "multipart of 33 images (MAX_ROWS_PER_REQUEST is 32)",
                path: classify,
                headers: ["Content-Type": "multipart/form-data; boundary=fuzz"],
                body: Data(String(repeating: "--fuzz\r\nContent-Type: image/png\r\n\r\nx\r\n", count: 33).utf8) + Data("--fuzz--\r\n".utf8),
                status: 413
            ),
            Case(
                name: "score with 33 images",
                path: "/score",
                headers: json,
                body: Data(("{\"input\": [" + Array(repeating: "\"aGVsbG8=\"", count: 33).joined(separator: ",") + "]}").utf8),
                status: 413
            ),
            Case(
                name: "image 65000×1 (aspect ratio over MAX_IMAGE_ASPECT_RATIO)",
                path: classify,
                headers: ["Content-Type": "image/png"],
                body: file("strip.png"),
                status: 400
            ),
        ]
        return c
    }

    @Test func corpus() async throws {
        try #require(Paths.demoArtifactExists, "run `make model`")
        try #require(FileManager.default.fileExists(atPath: Self.hostile.path), "run `make test-data`")
        #expect(Self.cases.count >= 40)
        try await withTestServer(modelDirectory: Paths.demoModel) { base, _ in
            try await waitUntilReady(base)
            for c in Self.cases {
                let r = try await http(c.method, URL(string: base.absoluteString + c.path)!, body: c.body.isEmpty ? nil : c.body, headers: c.headers)
                #expect(r.status == c.status, "\(c.name): \(r.status) \(r.text.prefix(200))")
                if r.status >= 400 {
                    let message = jsonObject(r.body)["error"] as? String ?? ""
                    #expect(!message.isEmpty, "\(c.name): no JSON error in \(r.text.prefix(200))")
                }
            }
            let wrong = try await http("DELETE", URL(string: base.absoluteString + "/score")!)
            #expect(wrong.headers["allow"] == "POST", "405 must say what is allowed")
            // A header of 1 MiB: refused or the connection closed, and the server lives on.
            let huge = try? await http("GET", base, headers: ["X-Huge": String(repeating: "a", count: 1 << 20)])
            #expect(huge == nil || (400..<500).contains(huge!.status), "huge header answered \(huge?.status ?? 0)")
            let ok = try await http(
                "POST",
                URL(string: base.absoluteString + Self.classify)!,
                body: Self.file("progressive.jpg"),
                headers: ["Content-Type": "image/jpeg"]
            )
            #expect(ok.status == 200, "the server should still serve after the corpus")
        }
    }
}
