import Foundation

/// Creates files, directories and links below one directory without ever following a symlink:
/// each path component is opened relative to its parent with `O_NOFOLLOW | O_DIRECTORY`, and
/// the last one is created with `O_EXCL`, `mkdirat`, `symlinkat` or `linkat` (none of which
/// follow a link). So even a check missed elsewhere cannot write outside the directory.
///
/// ```swift
/// let dir = try ConfinedDirectory(path: staging.path)
/// let fd = try dir.createFile(["bundle", "model.onnx"])  // mkdir bundle, then create the file
/// ```
final class ConfinedDirectory {
    let fd: Int32

    init(path: String) throws {
        fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw FetchError.archive("cannot open \(path): \(Self.why())") }
    }

    deinit { close(fd) }

    func makeDirectory(_ parts: [String]) throws {
        try withParent(parts) { dir, name in
            if mkdirat(dir, name, 0o755) != 0 {
                let code = errno
                guard code == EEXIST, kind(dir, name) == S_IFDIR else { throw failure(parts, "cannot create directory", code) }
            }
        }
    }

    /// A new regular file, open for writing; an existing file at that path is replaced.
    func createFile(_ parts: [String]) throws -> Int32 {
        try withParent(parts) { dir, name in
            try removeFile(dir, name, parts)
            let fd = openat(dir, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o644)
            guard fd >= 0 else { throw failure(parts, "cannot create file") }
            return fd
        }
    }

    func makeSymlink(_ parts: [String], target: String) throws {
        try withParent(parts) { dir, name in
            guard symlinkat(target, dir, name) == 0 else { throw failure(parts, "cannot create link") }
        }
    }

    /// A hard link at `parts` to the file at `source` (flags 0: a symlink there is not followed).
    func makeHardlink(_ parts: [String], to source: [String]) throws {
        try withParent(source, create: false) { sourceDir, sourceName in
            try withParent(parts) { dir, name in
                try removeFile(dir, name, parts)
                guard linkat(sourceDir, sourceName, dir, name, 0) == 0 else { throw failure(parts, "cannot create hard link") }
            }
        }
    }

    /// Runs `body` with an open descriptor of the directory holding `parts`' last component,
    /// creating the directories on the way (when `create`) and refusing any that is a symlink.
    private func withParent<T>(_ parts: [String], create: Bool = true, _ body: (Int32, String) throws -> T) throws -> T {
        guard let name = parts.last else { throw FetchError.archive("an entry names the destination itself") }
        var dir = dup(fd)
        defer { close(dir) }
        for (i, component) in parts.dropLast().enumerated() {
            if create && mkdirat(dir, component, 0o755) != 0 && errno != EEXIST { throw failure(parts, "cannot create directory") }
            let next = openat(dir, component, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
            guard next >= 0 else {
                let code = errno
                let path = parts[...i].joined(separator: "/")
                throw code == ELOOP || code == ENOTDIR
                    ? FetchError.archive("'\(parts.joined(separator: "/"))': '\(path)' is a link or not a directory; refusing to go through it")
                    : failure(parts, "cannot open directory '\(path)' for", code)
            }
            close(dir)
            dir = next
        }
        return try body(dir, name)
    }

    private func removeFile(_ dir: Int32, _ name: String, _ parts: [String]) throws {
        switch kind(dir, name) {
        case nil: return
        case S_IFDIR: throw FetchError.archive("'\(parts.joined(separator: "/"))' is a directory; refusing to replace it")
        default: guard unlinkat(dir, name, 0) == 0 else { throw failure(parts, "cannot replace") }
        }
    }

    /// The file type (`S_IFDIR`, `S_IFLNK`, ...) of `name` in `dir`, not following a link; nil if absent.
    private func kind(_ dir: Int32, _ name: String) -> mode_t? {
        var st = stat()
        return fstatat(dir, name, &st, AT_SYMLINK_NOFOLLOW) == 0 ? st.st_mode & S_IFMT : nil
    }

    /// The error for a failed call; `code` defaults to its errno, read before anything can change it.
    private func failure(_ parts: [String], _ what: String, _ code: Int32 = errno) -> FetchError {
        let message = "\(what) '\(parts.joined(separator: "/"))': \(String(cString: strerror(code)))"
        return code == ENOSPC || code == EDQUOT ? .diskFull(message) : .archive(message)
    }

    static func why() -> String { String(cString: strerror(errno)) }
}
