import Foundation
import Testing

@testable import ModelFetch

/// A prefix fetch is verified against the prefix's SHA256SUMS, on real S3 (moto; the prefixes
/// are made by Tests/Fixtures/s3_server.py). Nothing reaches the destination unless all of it
/// was verified.
@Suite("Prefix fetches are verified by SHA256SUMS (moto)", .serialized)
struct PrefixVerificationTests {
    func env() throws -> [String: String] { try S3Tests().env() }

    func contents(_ dir: URL) -> [String] { ((try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? []).sorted() }

    /// Fetches `prefix` into a fresh folder holding `existing` files; returns the folder and the error.
    func failing(_ prefix: String, existing: [String: String] = [:]) throws -> (URL, FetchError?) {
        let dir = Fixtures.scratch()
        for (name, text) in existing { try Data(text.utf8).write(to: dir.appendingPathComponent(name)) }
        do {
            let files = try quietFetcher(try env()).fetchPrefix(uri: "s3://models/\(prefix)", to: dir)
            Issue.record("\(prefix) was fetched: \(files.map(\.path))")
            return (dir, nil)
        } catch let e as FetchError {
            return (dir, e)
        }
    }

    @Test("every object listed and matching: fetched, `./` names and `*` markers understood, SHA256SUMS kept")
    func verified() throws {
        let dir = Fixtures.scratch()
        let files = try quietFetcher(try env()).fetchPrefix(uri: "s3://models/verified/", to: dir)
        #expect(files.map(\.path).sorted() == [dir.appendingPathComponent("a.txt").path, dir.appendingPathComponent("sub/c.txt").path])
        #expect(try String(contentsOf: dir.appendingPathComponent("sub/c.txt"), encoding: .utf8) == "charlie\n")
        #expect(contents(dir) == ["SHA256SUMS", "a.txt", "sub"], "no staging folder left")
    }

    @Test("a wrong digest: exit 5 naming the final path, and nothing written (an old file there is kept)")
    func tampered() throws {
        let (dir, e) = try failing("tampered/", existing: ["a.txt": "old"])
        guard case .checksumMismatch(let file, _, _)? = e else {
            Issue.record("expected a checksum mismatch, got \(String(describing: e))")
            return
        }
        #expect(file == dir.appendingPathComponent("b.txt").path)
        #expect(contents(dir) == ["a.txt"])
        #expect(try String(contentsOf: dir.appendingPathComponent("a.txt"), encoding: .utf8) == "old")
    }

    @Test("an object SHA256SUMS does not list is refused before anything is downloaded")
    func unlisted() throws {
        let (dir, e) = try failing("unlisted/")
        #expect(
            e?.exitCode == 5 && e?.description.contains("'b.txt' is not listed in s3://models/unlisted/SHA256SUMS") == true,
            "\(String(describing: e))"
        )
        #expect(contents(dir).isEmpty)
    }

    @Test("a file SHA256SUMS lists that is not there is refused")
    func missing() throws {
        let (dir, e) = try failing("missing/")
        #expect(
            e?.exitCode == 5 && e?.description.contains("'b.txt' is listed in s3://models/missing/SHA256SUMS but not present") == true,
            "\(String(describing: e))"
        )
        #expect(contents(dir).isEmpty)
    }

    @Test("no SHA256SUMS: a usage error that names the opt-out; nothing written")
    func noSums() throws {
        let (dir, e) = try failing("nosums/")
        #expect(e?.exitCode == 2 && e?.description.contains("--allow-unverified-prefix") == true, "\(String(describing: e))")
        #expect(contents(dir).isEmpty)
    }

    @Test("two keys for one file (`a.txt`, `./a.txt`) are refused, not one picked")
    func duplicate() throws {
        let (dir, e) = try failing("dup/")
        #expect(e?.exitCode == 5 && e?.description.contains("would both be written to a.txt") == true, "\(String(describing: e))")
        #expect(contents(dir).isEmpty)
    }

    @Test("a SHA256SUMS over 1 MiB, or naming a path outside, is refused", arguments: ["bigsums/", "badsums/"])
    func hostileSums(prefix: String) throws {
        let (dir, e) = try failing(prefix)
        #expect(e?.exitCode == 5, "\(String(describing: e))")
        #expect(contents(dir).isEmpty)
    }
}
