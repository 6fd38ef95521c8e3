import Foundation
import Testing

@testable import ModelFetch

/// Hostile tarballs (Tests/Fixtures/fetch_fixtures.py, HOSTILE): links through links, absolute
/// links, `..`, hard links out, files written through a symlinked directory. Each is unpacked
/// into OUTER/dest beside a marker file, so whatever escapes lands in OUTER, where it is seen.
@Suite("Archives: nothing is written outside the destination or through a link")
struct ArchiveSafetyTests {
    /// OUTER with `marker` and `dest/`, the fixture `name` fetched (verified) into dest.
    func layout(_ name: String) throws -> (outer: URL, dest: URL, archive: URL) {
        let outer = Fixtures.scratch()
        let dest = outer.appendingPathComponent("dest")
        try FileManager.default.createDirectory(at: dest, withIntermediateDirectories: true)
        try Data("keep".utf8).write(to: outer.appendingPathComponent("marker"))
        let archive = dest.appendingPathComponent(name)
        _ = try quietFetcher([:]).fetch(
            uri: "file://\(Fixtures.directory.appendingPathComponent(name).path)",
            sha256: Fixtures.sha(name),
            to: archive
        )
        return (outer, dest, archive)
    }

    func contents(_ dir: URL) -> [String] { ((try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? []).sorted() }

    @Test(
        "refused with exit code 8, nothing extracted, nothing outside touched",
        arguments: [
            "chain.tar.gz", "chain-late.tar.gz", "abs-link.tar.gz", "dotdot.tar.gz", "hardlink-out.tar.gz",
            "hardlink-abs.tar.gz", "hardlink-via-link.tar.gz", "through-link.tar.gz", "link-to-link.tar.gz",
            "huge-pax.tar.gz", "huge-size.tar.gz", "overflow-size.tar.gz", "bad-checksum.tar.gz",
        ]
    )
    func refused(name: String) throws {
        let (outer, dest, archive) = try layout(name)
        do {
            let files = try Archive.untar(archive, into: dest)
            Issue.record("\(name) was accepted: \(files)")
        } catch let e as FetchError {
            #expect(e.exitCode == 8, "\(e)")
        }
        #expect(contents(dest) == [name], "a refused archive leaves nothing behind, not even its staging folder")
        #expect(contents(outer) == ["dest", "marker"], "nothing may appear beside the destination")
        #expect(try String(contentsOf: outer.appendingPathComponent("marker"), encoding: .utf8) == "keep")
        #expect(!FileManager.default.fileExists(atPath: "/tmp/model-fetch-abs-evil.txt"))
    }

    @Test("the chain x/y -> .., l -> x/y/.., l/evil is refused and says which link it went through")
    func chainMessage() throws {
        let (_, dest, archive) = try layout("chain.tar.gz")
        #expect(throws: FetchError.archive("link 'l' -> 'x/y/..' goes through the link 'x/y'")) { _ = try Archive.untar(archive, into: dest) }
    }

    @Test("links that stay inside are kept: a symlink, a hard link, a `./` entry")
    func linksInside() throws {
        let (_, dest, archive) = try layout("links.tar.gz")
        let files = try Archive.untar(archive, into: dest)
        #expect(files == ["bundle/model.onnx", "bundle/copy"])
        #expect(try String(contentsOf: dest.appendingPathComponent("bundle/current"), encoding: .utf8) == "onnx bytes")
        #expect(try String(contentsOf: dest.appendingPathComponent("top"), encoding: .utf8) == "onnx bytes")
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: dest.appendingPathComponent("top").path) == "bundle/model.onnx")
        let copy = try FileManager.default.attributesOfItem(atPath: dest.appendingPathComponent("bundle/copy").path)
        #expect((copy[.referenceCount] as? NSNumber)?.intValue == 2, "a hard link, not a copy")
        #expect(leftovers(in: dest).isEmpty)
    }

    @Test("a symlink already in the destination is replaced, never written through")
    func existingLinkInDestination() throws {
        let (outer, dest, archive) = try layout("into-models.tar.gz")
        let elsewhere = outer.appendingPathComponent("elsewhere")
        try FileManager.default.createDirectory(at: elsewhere, withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: dest.appendingPathComponent("models").path, withDestinationPath: elsewhere.path)
        #expect(try Archive.untar(archive, into: dest) == ["models/x.txt"])
        #expect(contents(elsewhere).isEmpty, "written through the link that was in the destination")
        let attributes = try FileManager.default.attributesOfItem(atPath: dest.appendingPathComponent("models").path)
        #expect(attributes[.type] as? FileAttributeType == .typeDirectory)
        #expect(try String(contentsOf: dest.appendingPathComponent("models/x.txt"), encoding: .utf8) == "inside")
    }

    @Test("the command fails with exit 8 and leaves only the verified archive")
    func command() throws {
        // --extract unpacks beside the archive: OUTER/dest/chain.tar.gz, so an escape lands in OUTER.
        let outer = Fixtures.scratch()
        let dest = outer.appendingPathComponent("dest")
        let r = try CommandTests().run(
            [
                "file://\(Fixtures.directory.appendingPathComponent("chain.tar.gz").path)", "--sha256", Fixtures.sha("chain.tar.gz"),
                "--output", dest.appendingPathComponent("chain.tar.gz").path, "--extract",
            ],
            env: [:]
        )
        #expect(r.status == 8, "\(r.output)")
        #expect(r.output.contains("bad archive: link 'l' -> 'x/y/..' goes through the link 'x/y'"), "\(r.output)")
        #expect(contents(dest) == ["chain.tar.gz"])
        #expect(contents(outer) == ["dest"])
    }
}
