import Foundation
import TestSupport
import Testing

@testable import ModelFetch

/// The `model-fetch` binary: exit codes, and no credential in any output.
@Suite("model-fetch command", .serialized)
struct CommandTests {
    func run(_ args: [String], env: [String: String], executable: URL = Paths.binary) throws -> (status: Int32, output: String) {
        try #require(FileManager.default.fileExists(atPath: Paths.binary.path), "build model-fetch first")
        let p = Process()
        p.executableURL = executable
        p.arguments = args
        p.environment = env.merging(["PATH": "/usr/bin:/bin"]) { $1 }
        let out = Pipe()
        p.standardOutput = out
        p.standardError = out
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    @Test("fetches and verifies; exit 0 with a summary line")
    func success() throws {
        let out = Fixtures.scratch().appendingPathComponent("model.bin")
        let r = try run(
            ["file://\(Fixtures.directory.appendingPathComponent("model.bin").path)", "--sha256", Fixtures.sha("model.bin"), "--output", out.path],
            env: [:]
        )
        #expect(r.status == 0, "\(r.output)")
        #expect(r.output.contains("sha256 \(Fixtures.sha("model.bin"))") && r.output.contains("MB/s"))
    }

    @Test("a checksum mismatch exits 5 and names the file and both digests")
    func mismatch() throws {
        let out = Fixtures.scratch().appendingPathComponent("model.bin")
        let wrong = String(repeating: "ab", count: 32)
        let r = try run(["file://\(Fixtures.directory.appendingPathComponent("model.bin").path)", "--sha256", wrong, "--output", out.path], env: [:])
        #expect(r.status == 5)
        #expect(r.output.contains(out.path) && r.output.contains(wrong) && r.output.contains(Fixtures.sha("model.bin")))
        #expect(!FileManager.default.fileExists(atPath: out.path))
    }

    /// Runs model-fetch on `source` into a 1 MiB tmpfs, in a private mount namespace (`unshare`; no
    /// root needed where user namespaces are allowed); the output ends with what is left there.
    func fetchIntoSmallDisk(_ source: String) throws -> (status: Int32, output: String) {
        let dir = Fixtures.scratch().appendingPathComponent("small")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let script = """
            mount -t tmpfs -o size=1m tmpfs "$1" || exit 99
            "$2" "$3" --sha256 "$4" --output "$1/model.bin"; status=$?
            echo "left: [$(ls -A "$1")]"; exit $status
            """
        let r = try run(
            ["-rm", "sh", "-c", script, "sh", dir.path, Paths.binary.path, source, Fixtures.sha("model.bin")],
            env: [:],
            executable: URL(fileURLWithPath: "/usr/bin/unshare")
        )
        #expect(r.status != 99, "cannot mount a tmpfs here: \(r.output)")
        return r
    }

    @Test("a 3 MiB object for a 1 MiB disk: exit 6 before downloading, with the sizes, nothing left")
    func diskTooSmall() throws {
        let r = try fetchIntoSmallDisk("file://\(Fixtures.directory.appendingPathComponent("model.bin").path)")
        #expect(r.status == 6, "\(r.output)")
        #expect(r.output.contains("disk full") && r.output.contains("3145728 more bytes needed"), "\(r.output)")
        #expect(r.output.contains("left: []"), "\(r.output)")
    }

    @Test("the disk fills up mid-download (size not known in advance): exit 6, nothing left")
    func diskFillsUp() throws {
        let base = try #require(FaultTests.server, "the fault server could not start").string("base")
        let r = try fetchIntoSmallDisk("\(base)/chunked")
        #expect(r.status == 6, "\(r.output)")
        #expect(
            r.output.contains("disk full") && r.output.contains("No space left on device") && !r.output.contains("more bytes needed"),
            "\(r.output)"
        )
        #expect(r.output.contains("left: []"), "\(r.output)")
    }

    @Test("a missing checksum is a usage error: nothing is accepted unverified")
    func requiresChecksum() throws {
        #expect(try run(["https://example.invalid/m.onnx", "--output", "/tmp/x"], env: [:]).status != 0)
    }

    @Test("known fake credentials never appear in the output")
    func noSecrets() throws {
        let s3 = try #require(S3Tests.server, "moto could not start")
        let secret = "FAKEsecretKEY/\(UUID().uuidString)"
        let token = "FAKEsessionTOKEN\(UUID().uuidString)"
        let r = try run(
            [
                "s3://models/fixtures/model.bin", "--sha256", Fixtures.sha("model.bin"), "--output",
                Fixtures.scratch().appendingPathComponent("m").path,
            ],
            env: [
                "AWS_ENDPOINT_URL": s3.string("endpoint"), "AWS_ACCESS_KEY_ID": s3.string("access_key"),
                "AWS_SECRET_ACCESS_KEY": secret, "AWS_SESSION_TOKEN": token, "S3_MAX_ATTEMPTS": "1",
            ]
        )
        #expect(r.status == 3, "\(r.output)")
        #expect(!r.output.contains(secret) && !r.output.contains(token))
        let az = try #require(AzureTests.server, "the Azure server could not start")
        let sas = (az.info["blob_sas"] as! [String: String])["fixtures/model.bin"]!
        let sig = sas.split(separator: "&").first { $0.hasPrefix("sig=") }!.dropFirst(4)
        let r2 = try run(
            [
                "https://modelstore.blob.core.windows.net/models/fixtures/missing.bin?\(sas)", "--sha256", Fixtures.sha("model.bin"),
                "--output", Fixtures.scratch().appendingPathComponent("m").path,
            ],
            env: ["AZURE_STORAGE_CONNECTION_STRING": "BlobEndpoint=\(az.string("endpoint"))"]
        )
        #expect(r2.status == 3 || r2.status == 4, "\(r2.output)")
        #expect(!r2.output.contains(String(sig)) && !r2.output.contains(String(sig).removingPercentEncoding ?? "-"))
    }
}
