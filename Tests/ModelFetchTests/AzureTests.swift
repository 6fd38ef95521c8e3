import Foundation
import Testing

@testable import ModelFetch

/// Against a local Blob endpoint that checks every Shared Key signature with Azure's own SDK
/// and accepts only SAS tokens the SDK issued (Tests/Fixtures/azure_server.py).
@Suite("Azure Blob (signatures judged by azure-storage-blob)", .serialized)
struct AzureTests {
    static let server: PythonServer? = Fixtures.available ? try? PythonServer("azure_server.py", [Fixtures.directory.path]) : nil
    static let uri = "https://modelstore.blob.core.windows.net/models/fixtures/model.bin"

    func server() throws -> PythonServer { try #require(Self.server, "the Azure test server could not start: run `make setup`") }

    func fetch(_ env: [String: String], uri: String = uri) throws -> URL {
        let out = Fixtures.scratch().appendingPathComponent("model.bin")
        _ = try quietFetcher(env).fetch(uri: uri, sha256: Fixtures.sha("model.bin"), to: out)
        #expect(sameBytes(out, Fixtures.directory.appendingPathComponent("model.bin")))
        return out
    }

    @Test("Shared Key from AZURE_STORAGE_ACCOUNT and AZURE_STORAGE_KEY")
    func sharedKey() throws {
        let s = try server()
        _ = try fetch([
            "AZURE_STORAGE_CONNECTION_STRING": "BlobEndpoint=\(s.string("endpoint"))",
            "AZURE_STORAGE_ACCOUNT": s.string("account"), "AZURE_STORAGE_KEY": s.string("key"),
        ])
    }

    @Test("Shared Key from a connection string")
    func connectionString() throws {
        let s = try server()
        _ = try fetch([
            "AZURE_STORAGE_CONNECTION_STRING":
                "DefaultEndpointsProtocol=http;AccountName=\(s.string("account"));AccountKey=\(s.string("key"));BlobEndpoint=\(s.string("endpoint"))"
        ])
    }

    @Test("a wrong key is refused by the SDK's check: a credentials error without the key in it")
    func wrongKey() throws {
        let s = try server()
        let wrong = Data("not-the-key-\(UUID().uuidString)".utf8).base64EncodedString()
        do {
            _ = try fetch([
                "AZURE_STORAGE_CONNECTION_STRING": "BlobEndpoint=\(s.string("endpoint"))",
                "AZURE_STORAGE_ACCOUNT": s.string("account"), "AZURE_STORAGE_KEY": wrong,
            ])
            Issue.record("expected a credentials error")
        } catch let e as FetchError {
            #expect(e.exitCode == 3, "\(e)")
            #expect(!e.description.contains(wrong))
        }
    }

    @Test("a SAS token in the URI, and one from AZURE_STORAGE_SAS_TOKEN")
    func sas() throws {
        let s = try server()
        let token = (s.info["blob_sas"] as! [String: String])["fixtures/model.bin"]!
        let env = ["AZURE_STORAGE_CONNECTION_STRING": "BlobEndpoint=\(s.string("endpoint"))"]
        _ = try fetch(env, uri: "\(Self.uri)?\(token)")
        _ = try fetch(env.merging(["AZURE_STORAGE_SAS_TOKEN": "?\(token)"]) { $1 })
        // A tampered signature is refused.
        let tampered = token.replacingOccurrences(of: "sig=", with: "sig=A")
        #expect(throws: FetchError.self) { _ = try fetch(env, uri: "\(Self.uri)?\(tampered)") }
    }

    @Test("a signed x-ms-range request resumes mid-blob")
    func range() throws {
        let s = try server()
        let env = [
            "AZURE_STORAGE_CONNECTION_STRING": "BlobEndpoint=\(s.string("endpoint"))",
            "AZURE_STORAGE_ACCOUNT": s.string("account"), "AZURE_STORAGE_KEY": s.string("key"),
        ]
        guard case .azure(let location) = try Source(uri: Self.uri, environment: env) else { return }
        let sink = MemorySink()
        let (response, _) = Curl.get(location.request(path: "models/fixtures/model.bin", range: 1_000_000), sink: sink)
        #expect(response.status == 206)
        let full = try Data(contentsOf: Fixtures.directory.appendingPathComponent("model.bin"))
        #expect(sink.data == full.subdata(in: 1_000_000..<full.count))
    }

    @Test("a prefix lists with List Blobs across pages (Shared Key and container SAS)")
    func prefix() throws {
        let s = try server()
        let keyEnv = [
            "AZURE_STORAGE_CONNECTION_STRING": "BlobEndpoint=\(s.string("endpoint"))",
            "AZURE_STORAGE_ACCOUNT": s.string("account"), "AZURE_STORAGE_KEY": s.string("key"),
        ]
        let dir = Fixtures.scratch()
        let files = try quietFetcher(keyEnv).fetchPrefix(uri: "https://modelstore.blob.core.windows.net/models/many/", to: dir)
        #expect(files.count == 12)
        #expect(try String(contentsOf: dir.appendingPathComponent("part-11.txt"), encoding: .utf8) == "blob 11\n")
        let sasEnv = [
            "AZURE_STORAGE_CONNECTION_STRING": "BlobEndpoint=\(s.string("endpoint"))", "AZURE_STORAGE_SAS_TOKEN": s.string("container_sas"),
        ]
        #expect(
            try quietFetcher(sasEnv).fetchPrefix(uri: "https://modelstore.blob.core.windows.net/models/many/", to: Fixtures.scratch()).count == 12
        )
    }
}
