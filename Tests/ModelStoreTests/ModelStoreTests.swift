import Foundation
import Testing

@testable import ModelStore

@Suite("Model directories and manifests")
struct ModelStoreTests {
    static let demo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("models/efficientnet-lite0")

    func scratch() throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("modelstore-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir
    }

    func writeModel(in dir: URL, bytes: String, sha: String, labels: String = "labels.txt", labelsSHA256: String? = nil) throws {
        try Data(bytes.utf8).write(to: dir.appendingPathComponent("model.onnx"))
        try "a\nb\n".write(to: dir.appendingPathComponent("labels.txt"), atomically: true, encoding: .utf8)
        let manifest = """
            {"name": "m", "version": "1", "format": "onnx",
             "artifact": {"file": "model.onnx", "sha256": "\(sha)"},
             "input": {"name": "x", "shape": [-1, 3], "datatype": "FP32"},
             "output": {"name": "y", "shape": [-1, 2], "datatype": "FP32"}, "labels": "\(labels)"\(labelsSHA256.map { #", "labels_sha256": "\#($0)""# } ?? "")}
            """
        try manifest.write(to: dir.appendingPathComponent("model.json"), atomically: true, encoding: .utf8)
    }

    @Test func demoManifestParses() throws {
        let m = try ModelManifest(contentsOf: Self.demo.appendingPathComponent("model.json"))
        #expect(m.name == "efficientnet-lite0")
        #expect(m.preprocessing?.resizeShorter == 256)
        #expect(m.preprocessing?.crop == [224, 224])
        let dir = try ModelDirectory(Self.demo)
        #expect(dir.labels.count == 1000)
        #expect(dir.labels[967] == "n07920052 espresso")
    }

    @Test func verifyAcceptsTheRightDigest() throws {
        let dir = try scratch()
        // sha256("hello")
        try writeModel(in: dir, bytes: "hello", sha: "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824")
        try ModelDirectory(dir).verify()
        #expect(try ModelDirectory(dir).labels == ["a", "b"])
    }

    @Test func verifyRejectsAWrongDigest() throws {
        let dir = try scratch()
        try writeModel(in: dir, bytes: "hellO", sha: "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824")
        #expect(throws: ModelStoreError.self) { try ModelDirectory(dir).verify() }
        do { try ModelDirectory(dir).verify() } catch let e as ModelStoreError {
            #expect(e.description.contains("expected sha256 2cf24dba"))
        }
    }

    @Test func manifestsAreValidated() throws {
        let dir = try scratch()
        try writeModel(in: dir, bytes: "x", sha: "not-hex")
        #expect(throws: ModelStoreError.self) { try ModelDirectory(dir) }
        #expect(throws: ModelStoreError.missing("manifest \(dir.appendingPathComponent("nope/model.json").path)")) {
            try ModelDirectory(dir.appendingPathComponent("nope"))
        }
    }

    @Test func verifyChecksTheLabelsDigestWhenTheManifestGivesOne() throws {
        let dir = try scratch()
        // sha256("hello"), sha256("a\nb\n")
        try writeModel(
            in: dir, bytes: "hello", sha: "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824",
            labelsSHA256: "c0f7bdd8f9d4d7e1e0c4d4e0e2d1c4c0d0d3a4b6f3e2f7b6c5b1f2e3d4c5b6a7")
        #expect(throws: ModelStoreError.self) { try ModelDirectory(dir).verify() }
        try writeModel(
            in: dir, bytes: "hello", sha: "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824",
            labelsSHA256: "911169ddaaf146aff539f58c26c489af3b892dff0fe283c1c264c65ae5aa59a2")
        try ModelDirectory(dir).verify()
    }

    @Test func fileNamesMustStayInTheFolder() throws {
        for labels in ["../labels.txt", "/etc/passwd", ".hidden", "sub/labels.txt"] {
            let dir = try scratch()
            try writeModel(in: dir, bytes: "x", sha: String(repeating: "0", count: 64), labels: labels)
            #expect(throws: ModelStoreError.self, "labels \(labels)") { try ModelDirectory(dir) }
        }
    }
}
