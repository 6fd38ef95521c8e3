import Foundation
import Testing

@testable import ModelFetch

/// The opt-out `--allow-unverified-prefix`, and what `model-fetch` says about prefixes.
@Suite("Unverified prefixes only on request, loudly", .serialized)
struct UnverifiedPrefixTests {
    func env() throws -> [String: String] { try S3Tests().env() }

    @Test("allowUnverified fetches a prefix without SHA256SUMS")
    func library() throws {
        let dir = Fixtures.scratch()
        let files = try quietFetcher(try env()).fetchPrefix(uri: "s3://models/nosums/", to: dir, allowUnverified: true)
        #expect(files.count == 2)
        #expect(try String(contentsOf: dir.appendingPathComponent("b.txt"), encoding: .utf8) == "bravo\n")
    }

    @Test("allowUnverified still verifies a prefix that has SHA256SUMS")
    func stillVerifies() throws {
        #expect(throws: FetchError.self) {
            _ = try quietFetcher(try env()).fetchPrefix(uri: "s3://models/tampered/", to: Fixtures.scratch(), allowUnverified: true)
        }
    }

    @Test("the command: exit 2 without the flag; with it, a warning even under --quiet")
    func command() throws {
        let dir = Fixtures.scratch()
        let refused = try CommandTests().run(["s3://models/nosums/", "--output", dir.path], env: try env())
        #expect(refused.status == 2 && refused.output.contains("holds no SHA256SUMS"), "\(refused.output)")
        let allowed = try CommandTests().run(["s3://models/nosums/", "--output", dir.path, "--allow-unverified-prefix", "--quiet"], env: try env())
        #expect(allowed.status == 0, "\(allowed.output)")
        #expect(allowed.output.contains("WARNING: s3://models/nosums/ has no SHA256SUMS: fetching its 2 objects UNVERIFIED"), "\(allowed.output)")
        let verified = try CommandTests().run(["s3://models/verified/", "--output", dir.appendingPathComponent("v").path], env: try env())
        #expect(verified.status == 0 && verified.output.contains("fetched 2 objects") && !verified.output.contains("WARNING"), "\(verified.output)")
    }

    @Test("the flag is refused for a single object, and --help documents both")
    func usage() throws {
        let r = try CommandTests().run(
            ["file:///x", "--sha256", String(repeating: "0", count: 64), "--output", "/tmp/x", "--allow-unverified-prefix"],
            env: [:]
        )
        #expect(r.status == 64, "ArgumentParser's EX_USAGE for a bad combination of arguments: \(r.output)")
        #expect(r.output.contains("--allow-unverified-prefix applies only to a prefix"), "\(r.output)")
        let help = try CommandTests().run(["--help"], env: [:]).output
        #expect(help.contains("must hold a SHA256SUMS object") && help.contains("--allow-unverified-prefix"), "\(help)")
    }
}
