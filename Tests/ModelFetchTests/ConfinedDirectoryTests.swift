import Foundation
import Testing

@testable import ModelFetch

/// The kernel-level half of safe extraction, on its own: even asked directly (no lexical check
/// in front), `ConfinedDirectory` goes through no symlink and follows none at the last component.
@Suite("ConfinedDirectory never follows a link")
struct ConfinedDirectoryTests {
    /// ROOT with `link -> OUTSIDE` (absolute) and `file-link -> OUTSIDE/target`.
    func layout() throws -> (root: ConfinedDirectory, rootURL: URL, outside: URL) {
        let base = Fixtures.scratch()
        let root = base.appendingPathComponent("root")
        let outside = base.appendingPathComponent("outside")
        for dir in [root, outside] { try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true) }
        try Data("untouched".utf8).write(to: outside.appendingPathComponent("target"))
        try FileManager.default.createSymbolicLink(atPath: root.appendingPathComponent("link").path, withDestinationPath: outside.path)
        try FileManager.default.createSymbolicLink(
            atPath: root.appendingPathComponent("file-link").path,
            withDestinationPath: outside.appendingPathComponent("target").path
        )
        return (try ConfinedDirectory(path: root.path), root, outside)
    }

    @Test("nothing is created through a linked directory")
    func throughLink() throws {
        let (root, _, outside) = try layout()
        #expect(throws: FetchError.archive("'link/evil': 'link' is a link or not a directory; refusing to go through it")) {
            _ = try root.createFile(["link", "evil"])
        }
        #expect(throws: FetchError.self) { try root.makeDirectory(["link", "sub"]) }
        #expect(throws: FetchError.self) { try root.makeSymlink(["link", "s"], target: "x") }
        #expect(throws: FetchError.self) { try root.makeHardlink(["h"], to: ["link", "target"]) }
        #expect(try FileManager.default.contentsOfDirectory(atPath: outside.path) == ["target"])
    }

    @Test("a file over a link replaces the link; the file it pointed to is untouched")
    func replacesLink() throws {
        let (root, rootURL, outside) = try layout()
        let fd = try root.createFile(["file-link"])
        try Archive.writeAll(fd, Data("new".utf8), to: "file-link")
        close(fd)
        #expect(try String(contentsOf: outside.appendingPathComponent("target"), encoding: .utf8) == "untouched")
        #expect(try String(contentsOf: rootURL.appendingPathComponent("file-link"), encoding: .utf8) == "new")
        #expect(throws: FetchError.self) { try root.makeDirectory(["file-link"]) }
    }

    /// `Archive.untar` removes its staging folder with FileManager, which may hold links to
    /// anywhere (a refused archive's, or the destination's replaced entries): only the links go.
    @Test("removing a staging folder removes its links, not what they point to")
    func removalKeepsTargets() throws {
        let (_, rootURL, outside) = try layout()
        try FileManager.default.removeItem(at: rootURL)
        #expect(try FileManager.default.contentsOfDirectory(atPath: outside.path) == ["target"])
        #expect(try String(contentsOf: outside.appendingPathComponent("target"), encoding: .utf8) == "untouched")
    }
}
