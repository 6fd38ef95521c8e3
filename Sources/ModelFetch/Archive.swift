import Foundation

/// Unpacks `.gz` and `.tar.gz`/`.tgz` downloads without ever writing outside the destination.
///
/// ```swift
/// let files = try Archive.untar(URL(fileURLWithPath: "/models/bundle.tar.gz"), into: URL(fileURLWithPath: "/models"))
/// try Archive.gunzip(URL(fileURLWithPath: "/models/model.onnx.gz"), to: URL(fileURLWithPath: "/models/model.onnx"))
/// ```
public enum Archive {
    /// Inflates a gzip file into `output` (written to a temporary name, fsynced, then renamed).
    public static func gunzip(_ input: URL, to output: URL) throws {
        let temp = output.deletingLastPathComponent().appendingPathComponent(".\(output.lastPathComponent).partial-\(getpid())")
        defer { unlink(temp.path) }
        let fd = open(temp.path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw FetchError.archive("cannot create \(temp.path): \(ConfinedDirectory.why())") }
        defer { close(fd) }
        let gz = try Inflater(input)
        while let chunk = try gz.read(max: 1 << 20) { try writeAll(fd, chunk, to: output.lastPathComponent) }
        guard fsync(fd) == 0 else { throw FetchError.diskFull("fsync \(temp.path): \(ConfinedDirectory.why())") }
        guard rename(temp.path, output.path) == 0 else { throw FetchError.archive("cannot move \(output.path) into place") }
    }

    /// Unpacks a gzipped tar into `directory` and returns the files written. The archive is
    /// extracted into a staging folder inside `directory` first; only once all of it has been
    /// accepted does each top-level entry replace what has its name in `directory`. Refused,
    /// leaving nothing behind: absolute paths, `..`, any entry written through a symlink,
    /// symlinks leading out of the destination or through another link, hard links to anything
    /// but a file of the archive, devices and FIFOs (rules: `ArchiveTree`, `ConfinedDirectory`).
    public static func untar(_ input: URL, into directory: URL) throws -> [String] {
        let staging = directory.appendingPathComponent(".\(input.lastPathComponent).partial-\(getpid())")
        try? FileManager.default.removeItem(at: staging)
        for dir in [staging, staging.appendingPathComponent("tree"), staging.appendingPathComponent("replaced")] {
            guard mkdir(dir.path, 0o700) == 0 else { throw FetchError.archive("cannot create \(dir.path): \(ConfinedDirectory.why())") }
        }
        // FileManager removes links, never what they point to.
        defer { try? FileManager.default.removeItem(at: staging) }
        let tree = try ConfinedDirectory(path: staging.appendingPathComponent("tree").path)
        let (names, files) = try extract(input, into: tree)
        try commit(names, from: tree, to: directory, aside: try ConfinedDirectory(path: staging.appendingPathComponent("replaced").path))
        return files
    }

    /// Extracts every entry into `root`; returns the top-level names and the files written.
    static func extract(_ input: URL, into root: ConfinedDirectory) throws -> ([String], [String]) {
        let tar = TarReader(InflatedBytes(try Inflater(input)))
        var tree = ArchiveTree()
        var files: [String] = []
        var seen: Set<String> = []
        while let e = try tar.next() {
            let parts = try ArchiveTree.components(e.name)
            if parts.isEmpty && e.kind == .directory { continue }  // "./": the destination itself
            // The tree is updated before the disk, so a conflicting entry is refused before it is made.
            switch e.kind {
            case .directory:
                try tree.add(parts, .directory)
                try root.makeDirectory(parts)
            case .file:
                try tree.add(parts, .file)
                let fd = try root.createFile(parts)
                defer { close(fd) }
                try tar.data(of: e) { try writeAll(fd, $0, to: e.name) }
                guard fsync(fd) == 0 else { throw FetchError.diskFull("fsync '\(e.name)': \(ConfinedDirectory.why())") }
            case .symlink:
                _ = try tree.resolve(link: parts, target: e.linkTarget)
                try tree.add(parts, .symlink(target: e.linkTarget))
                try root.makeSymlink(parts, target: e.linkTarget)
            case .hardlink:
                let source = try tree.hardlinkSource(e.linkTarget, link: parts)
                try tree.add(parts, .file)
                try root.makeHardlink(parts, to: source)
            }
            let path = parts.joined(separator: "/")
            if tree.nodes[path] == .file && seen.insert(path).inserted { files.append(path) }
        }
        try tree.verifyLinks()
        return (tree.topLevel, files)
    }

    /// Moves each top-level entry from `tree` into `directory`. What had its name there is
    /// first moved into `aside` (deleted with the staging folder), and moved back if the move fails.
    static func commit(_ names: [String], from tree: ConfinedDirectory, to directory: URL, aside: ConfinedDirectory) throws {
        let dest = open(directory.path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard dest >= 0 else { throw FetchError.archive("cannot open \(directory.path): \(ConfinedDirectory.why())") }
        defer { close(dest) }
        for (i, name) in names.enumerated() {
            var st = stat()
            let existed = fstatat(dest, name, &st, AT_SYMLINK_NOFOLLOW) == 0
            if existed && renameat(dest, name, aside.fd, "\(i)") != 0 {
                throw FetchError.archive("cannot replace \(directory.path)/\(name): \(ConfinedDirectory.why())")
            }
            if renameat(tree.fd, name, dest, name) != 0 {
                let why = ConfinedDirectory.why()
                if existed { _ = renameat(aside.fd, "\(i)", dest, name) }
                throw FetchError.archive("cannot move \(name) into \(directory.path): \(why)")
            }
        }
        _ = fsync(dest)
    }

    /// Writes all of `data` to `fd`, retrying short writes; ENOSPC/EDQUOT is a disk-full error.
    static func writeAll(_ fd: Int32, _ data: Data, to name: String) throws {
        try data.withUnsafeBytes { (buffer: UnsafeRawBufferPointer) in
            var offset = 0
            while offset < buffer.count {
                let n = write(fd, buffer.baseAddress! + offset, buffer.count - offset)
                if n < 0 && errno == EINTR { continue }
                guard n > 0 else {
                    let code = errno
                    let message = "writing '\(name)': \(String(cString: strerror(code)))"
                    throw code == ENOSPC || code == EDQUOT ? FetchError.diskFull(message) : FetchError.archive(message)
                }
                offset += n
            }
        }
    }
}
