import Foundation
import Hummingbird
import Logging
import TestSupport
import Testing

@testable import ModelServer

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// `/openapi.json` must describe exactly the routes the server has.
@Suite("OpenAPI document")
struct OpenAPITests {
    static var document: [String: Any] { jsonObject(Data(OpenAPIDocument.json.utf8)) }

    /// "METHOD /path" for every documented operation.
    static var documented: Set<String> {
        var out = Set<String>()
        for (path, item) in document["paths"] as? [String: [String: Any]] ?? [:] {
            for method in item.keys { out.insert("\(method.uppercased()) \(path)") }
        }
        return out
    }

    @Test func isOpenAPI31() {
        #expect(Self.document["openapi"] as? String == "3.1.0")
        #expect((Self.document["paths"] as? [String: Any])?.count ?? 0 >= 15)
    }

    @Test("documents exactly the router's routes")
    func matchesRouter() {
        let server = ModelServer(configuration: ServerConfiguration(), logger: Logger(label: "test"))
        let routed = Set(server.makeRouter().routes.map { "\($0.method) \($0.path)" })
        #expect(
            routed == Self.documented,
            "undocumented: \(routed.subtracting(Self.documented).sorted()); not routed: \(Self.documented.subtracting(routed).sorted())"
        )
    }

    @Test("every documented GET answers with a documented status")
    func liveAnswers() async throws {
        try #require(Paths.demoArtifactExists, "the demo model is missing: run `make model`")
        try await withTestServer(modelDirectory: Paths.demoModel) { base, _ in
            try await waitUntilReady(base)
            let served = try await http("GET", base.appendingPathComponent("openapi.json"))
            #expect(served.status == 200 && jsonObject(served.body)["openapi"] as? String == "3.1.0")
            for (path, item) in Self.document["paths"] as? [String: [String: Any]] ?? [:] {
                guard let get = item["get"] as? [String: Any], let responses = get["responses"] as? [String: Any] else { continue }
                let concrete = path.replacingOccurrences(of: "{model}", with: "efficientnet-lite0").replacingOccurrences(of: "{version}", with: "1")
                let r = try await http("GET", URL(string: base.absoluteString + concrete)!)
                #expect(responses["\(r.status)"] != nil, "GET \(concrete) answered \(r.status), not documented")
            }
        }
    }
}
