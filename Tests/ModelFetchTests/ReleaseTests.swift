import Crypto
import Foundation
import ModelStore
import Testing

@testable import ModelFetch

/// A store laid out as `pipeline/publish.py` writes one (`NAME/VERSION/{model.json, model.onnx,
/// labels.txt}` and `NAME/latest`), in a folder reached through `file://`: the resolution and
/// verification logic is the same for every transport (`make pipeline` runs it against S3 and
/// Azure Blob).
struct FolderStore {
    let root = Fixtures.scratch()

    func uri(_ path: String) -> String { "file://\(root.path)/\(path)" }
    func url(_ path: String) -> URL { root.appendingPathComponent(path) }

    static func sha(_ data: Data) -> String { SHA256File.hex(SHA256.hash(data: data)) }

    /// Publishes `model` and `labels` as NAME/VERSION; `edit` changes the manifest before it is written.
    @discardableResult
    func publish(
        _ name: String = "tiny", version: String, model: Data, labels: Data = Data("cat\ndog\n".utf8), movesLatest: Bool = true,
        edit: (inout [String: Any]) -> Void = { _ in }
    ) throws -> Data {
        let folder = url("\(name)/\(version)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        try model.write(to: folder.appendingPathComponent("model.onnx"))
        try labels.write(to: folder.appendingPathComponent("labels.txt"))
        var manifest: [String: Any] = [
            "name": name, "version": version, "format": "onnx",
            "artifact": ["file": "model.onnx", "sha256": Self.sha(model), "size": model.count],
            "input": ["name": "x", "shape": [-1, 2], "datatype": "FP32"],
            "output": ["name": "y", "shape": [-1, 2], "datatype": "FP32"],
            "labels": "labels.txt", "labels_sha256": Self.sha(labels),
        ]
        edit(&manifest)
        let data = try JSONSerialization.data(withJSONObject: manifest, options: [.sortedKeys])
        try data.write(to: folder.appendingPathComponent("model.json"))
        if movesLatest { try pointer(name, ["name": name, "version": version, "manifest_sha256": Self.sha(data)]) }
        return data
    }

    func pointer(_ name: String, _ object: [String: String]) throws {
        try JSONSerialization.data(withJSONObject: object).write(to: url("\(name)/latest"))
    }
}

@Suite("Releases: a store's latest pointer, its manifest, its files")
struct ReleaseTests {
    let v1 = Data("model version one".utf8)
    let v2 = Data("model version two".utf8)
    let fetcher = quietFetcher([:])

    func files(in dir: URL) -> [String] { ((try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? []).sorted() }

    @Test func latestResolvesToTheVersionItNamesAndEveryFileIsVerified() throws {
        let store = FolderStore()
        try store.publish(version: "1", model: v1)
        let manifest = try store.publish(version: "2", model: v2)
        let release = try fetcher.resolve(release: store.uri("tiny/latest"))
        #expect(release.version == "2" && release.sha256 == FolderStore.sha(v2))
        #expect(release.manifestSHA256 == FolderStore.sha(manifest) && release.manifest == store.uri("tiny/2/model.json"))

        let dest = Fixtures.scratch().appendingPathComponent("model")
        #expect(try fetcher.fetch(release: store.uri("tiny/latest"), into: dest) == release)
        #expect(files(in: dest) == ["labels.txt", "model.json", "model.onnx"])
        #expect(try Data(contentsOf: dest.appendingPathComponent("model.onnx")) == v2)
        try ModelDirectory(dest).verify()  // labels_sha256 included
    }

    @Test func aVersionsManifestCanBeNamedDirectly() throws {
        let store = FolderStore()
        try store.publish(version: "1", model: v1)
        try store.publish(version: "2", model: v2)
        let release = try fetcher.resolve(release: store.uri("tiny/1/model.json"))
        #expect(release.version == "1" && release.sha256 == FolderStore.sha(v1))
    }

    @Test func aPinFailsOnceTheStoreHasMovedOnBeforeAnythingIsDownloaded() throws {
        let store = FolderStore()
        try store.publish(version: "1", model: v1)
        #expect(try fetcher.resolve(release: store.uri("tiny/latest"), pin: .init(sha256: FolderStore.sha(v1))).version == "1")
        try store.publish(version: "2", model: v2)
        let dest = Fixtures.scratch().appendingPathComponent("model")
        do {
            _ = try fetcher.fetch(release: store.uri("tiny/latest"), into: dest, pin: .init(sha256: FolderStore.sha(v1)))
            Issue.record("a moved store passed the pin")
        } catch let e as FetchError {
            #expect(e.exitCode == 5 && "\(e)".contains("the store changed since the pin") && "\(e)".contains(FolderStore.sha(v2)))
        }
        #expect(files(in: dest).isEmpty)
    }

    @Test func aTamperedArtifactOrLabelsFileFailsAndLeavesNothing() throws {
        for file in ["model.onnx", "labels.txt"] {
            let store = FolderStore()
            try store.publish(version: "1", model: v1)
            try Data("swapped".utf8).write(to: store.url("tiny/1/\(file)"))
            let dest = Fixtures.scratch().appendingPathComponent("model")
            #expect(throws: FetchError.self, "\(file)") { try fetcher.fetch(release: store.uri("tiny/latest"), into: dest) }
            #expect(files(in: dest).isEmpty, "\(file)")
        }
    }

    @Test func aManifestEditedAfterPublishingFailsThePointersDigest() throws {
        let store = FolderStore()
        try store.publish(version: "1", model: v1)
        // An attacker who can write model.onnx and model.json but not `latest` (or a torn upload).
        try Data("evil".utf8).write(to: store.url("tiny/1/model.onnx"))
        try store.publish(version: "1", model: Data("evil".utf8), movesLatest: false)
        do {
            _ = try fetcher.resolve(release: store.uri("tiny/latest"))
            Issue.record("an edited manifest was accepted")
        } catch FetchError.checksumMismatch(let file, _, _) {
            #expect(file.hasSuffix("tiny/1/model.json"))
        }
    }

    @Test func hostilePointersAndManifestsAreRefused() throws {
        let store = FolderStore()
        let manifest = try store.publish(version: "1", model: v1)
        let digest = FolderStore.sha(manifest)
        let cases: [(String, () throws -> Void)] = [
            ("a version that climbs", { try store.pointer("tiny", ["name": "tiny", "version": "../1", "manifest_sha256": digest]) }),
            ("a version with a slash", { try store.pointer("tiny", ["name": "tiny", "version": "1/x", "manifest_sha256": digest]) }),
            ("a 65-character version", { try store.pointer("tiny", ["name": "tiny", "version": String(repeating: "1", count: 65), "manifest_sha256": digest]) }),
            ("another model's name", { try store.pointer("tiny", ["name": "other", "version": "1", "manifest_sha256": digest]) }),
            ("a digest that is not one", { try store.pointer("tiny", ["name": "tiny", "version": "1", "manifest_sha256": "abc"]) }),
            ("not JSON", { try Data("1\n".utf8).write(to: store.url("tiny/latest")) }),
            ("a pointer over 64 KiB", { try Data(repeating: 0x20, count: 70_000).write(to: store.url("tiny/latest")) }),
            ("labels outside the folder", { try store.publish(version: "1", model: self.v1) { $0["labels"] = "../../secret" } }),
            ("an artifact outside the folder", {
                try store.publish(version: "1", model: self.v1) { $0["artifact"] = ["file": "../x.onnx", "sha256": FolderStore.sha(self.v1)] }
            }),
            ("labels without a digest", { try store.publish(version: "1", model: self.v1) { $0["labels_sha256"] = nil } }),
            ("labels named like the artifact", { try store.publish(version: "1", model: self.v1) { $0["labels"] = "model.onnx" } }),
            ("labels named model.json", { try store.publish(version: "1", model: self.v1) { $0["labels"] = "model.json" } }),
            ("a manifest over 1 MiB", {
                try store.publish(version: "1", model: self.v1) { $0["description"] = String(repeating: "x", count: 1 << 20) }
            }),
        ]
        for (name, make) in cases {
            try make()
            let dest = Fixtures.scratch().appendingPathComponent("model")
            do {
                _ = try fetcher.fetch(release: store.uri("tiny/latest"), into: dest)
                Issue.record("\(name): accepted")
            } catch let e as FetchError {
                #expect(e.exitCode == 5, "\(name): \(e)")
            }
            #expect(files(in: dest).isEmpty, "\(name)")
            try store.publish(version: "1", model: v1)  // back to a good store for the next case
        }
    }

    @Test func aManifestPinCoversWhatAnArtifactPinDoesNot() throws {
        let store = FolderStore()
        let first = try store.publish(version: "1", model: v1)
        // Version 2: the same artifact, other labels.
        try store.publish(version: "2", model: v1, labels: Data("dog\ncat\n".utf8))
        #expect(try fetcher.resolve(release: store.uri("tiny/latest"), pin: .init(sha256: FolderStore.sha(v1))).version == "2")
        do {
            _ = try fetcher.resolve(release: store.uri("tiny/latest"), pin: .init(manifestSHA256: FolderStore.sha(first)))
            Issue.record("a manifest pin passed a release with other labels")
        } catch let e as FetchError {
            #expect(e.exitCode == 5 && "\(e)".contains("pins manifest sha256"))
        }
        // A version's own model.json with its digest: what a build fetches.
        let release = try fetcher.resolve(release: store.uri("tiny/1/model.json"), pin: .init(manifestSHA256: FolderStore.sha(first)))
        #expect(release.version == "1")
    }

    /// Fetching `store`'s latest release fails at exit 5 for a file past `limit` bytes, leaving nothing.
    func expectCutOff(_ store: FolderStore, at limit: Int64, _ what: String) throws {
        let dest = Fixtures.scratch().appendingPathComponent("model")
        do {
            _ = try fetcher.fetch(release: store.uri("tiny/latest"), into: dest)
            Issue.record("\(what) was accepted")
        } catch let e as FetchError {
            #expect(e.exitCode == 5 && "\(e)".contains("more than the \(limit) bytes"), "\(e)")
        }
        #expect(files(in: dest).isEmpty)
    }

    @Test func anArtifactLargerThanItsManifestSaysIsCutOff() throws {
        let store = FolderStore()
        try store.publish(version: "1", model: v1) { manifest in
            var artifact = manifest["artifact"] as! [String: Any]
            artifact["size"] = 4
            manifest["artifact"] = artifact
        }
        try expectCutOff(store, at: 4, "an artifact over its size")
    }

    @Test func aLabelsFileOver16MiBIsCutOffEvenWhenItsDigestMatches() throws {
        // The manifest gives no size for labels: the fetcher's own bound (16 MiB) is the limit.
        let store = FolderStore()
        try store.publish(version: "1", model: v1, labels: Data(repeating: UInt8(ascii: "a"), count: Int(Fetcher.maxLabelsBytes) + 1))
        try expectCutOff(store, at: Fetcher.maxLabelsBytes, "a labels file over 16 MiB")
    }

    @Test func storeTextInMessagesCannotStartALineOfItsOwn() throws {
        let store = FolderStore()
        let manifest = try store.publish(version: "1", model: v1)
        try store.pointer("tiny", ["name": "tiny", "version": "1\n##vso[task.setvariable variable=x]y", "manifest_sha256": FolderStore.sha(manifest)])
        do {
            _ = try fetcher.resolve(release: store.uri("tiny/latest"))
            Issue.record("a version with a newline was accepted")
        } catch let e as FetchError {
            #expect(!"\(e)".contains("\n") && "\(e)".contains("1?##vso"), "\(e)")
        }
        // A server's error code too (kept whole otherwise: it may echo a credential to redact).
        #expect(Fetcher.errorCode(Data("<Error><Code>Denied\n::error::x for a b</Code></Error>".utf8)) == "(Denied?::error::x for a b)")
    }

    @Test func theCommandResolvesPinsAndFetches() throws {
        let store = FolderStore()
        try store.publish(version: "1", model: v1)
        try store.publish(version: "2", model: v2)
        let commands = CommandTests()
        let resolved = try commands.run(["--release", store.uri("tiny/latest"), "--resolve"], env: [:])
        #expect(resolved.status == 0, "\(resolved.output)")
        let json = try JSONDecoder().decode(Release.self, from: Data(resolved.output.utf8))
        #expect(json.version == "2" && json.sha256 == FolderStore.sha(v2))

        let dest = Fixtures.scratch().appendingPathComponent("model")
        let pinned = try commands.run(["--release", store.uri("tiny/latest"), "--dest", dest.path, "--expect-sha256", FolderStore.sha(v1)], env: [:])
        #expect(pinned.status == 5 && pinned.output.contains("the store changed since the pin"), "\(pinned.output)")
        let fetched = try commands.run(["--release", store.uri("tiny/latest"), "--dest", dest.path, "--expect-sha256", FolderStore.sha(v2)], env: [:])
        #expect(fetched.status == 0 && fetched.output.contains("release tiny 2: sha256 \(FolderStore.sha(v2))"), "\(fetched.output)")
        #expect(files(in: dest) == ["labels.txt", "model.json", "model.onnx"])

        let usage = try commands.run(["--release", store.uri("tiny/latest")], env: [:])
        #expect(usage.status == 64 || usage.status == 2, "\(usage.output)")  // ArgumentParser's validation exit
    }
}
