import Foundation
import Testing

@testable import ModelFetch

/// What an archive's names may cost before a byte is written: depth, paths, bytes of names.
@Suite("Archive tree limits")
struct ArchiveTreeTests {
    @Test("an entry more than 64 levels deep is refused (a 4 KB name of a/a/a/… implies 2,048 directories)")
    func depth() throws {
        #expect(try ArchiveTree.components(Array(repeating: "a", count: 64).joined(separator: "/")).count == 64)
        #expect(throws: FetchError.self) { _ = try ArchiveTree.components(Array(repeating: "a", count: 65).joined(separator: "/")) }
    }

    @Test("implied parent directories count toward the path limit")
    func impliedParents() throws {
        var tree = ArchiveTree()
        // Each entry sits in directories of its own: 64 paths per entry, so the limit of 100,000
        // paths is reached after ~1,563 entries, not 100,000.
        var added = 0
        do {
            for i in 0..<ArchiveTree.maxEntries {
                try tree.add(["d\(i)"] + Array(repeating: "a", count: 62) + ["f"], .file)
                added += 1
            }
            Issue.record("all \(added) entries were accepted")
        } catch let e as FetchError {
            #expect(e.exitCode == 8)
        }
        #expect(added < ArchiveTree.maxEntries / 60, "\(added) entries accepted")
        #expect(tree.nodes.count <= ArchiveTree.maxEntries)
    }
}
