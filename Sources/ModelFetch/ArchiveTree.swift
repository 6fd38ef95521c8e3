/// The lexical rules of safe extraction, applied to the paths an archive has created so far.
///
/// No entry may be created through a link, and no link may lead through another link or out of
/// the destination: entry names are relative without `..`; a symlink's target, resolved against
/// its own directory, stays inside and passes through no symlink (and is not one); a hard link
/// names a regular file the archive created, by a path through no symlink. `ConfinedDirectory`
/// enforces the first rule again in the kernel (O_NOFOLLOW); `verifyLinks()` re-checks every
/// symlink once the whole archive is known, since a later entry can turn an earlier link's
/// harmless-looking path into a path through a link.
///
/// ```swift
/// var tree = ArchiveTree()
/// let parts = try ArchiveTree.components("x/y")
/// _ = try tree.resolve(link: parts, target: "..")  // throws if the link would lead outside or through a link
/// try tree.add(parts, .symlink(target: ".."))
/// ```
struct ArchiveTree {
    enum Node: Equatable {
        case file, directory
        case symlink(target: String)
    }

    /// Most paths one archive may create, its entries and the parent directories they imply
    /// (each costs memory here and an inode there).
    static let maxEntries = 100_000
    /// Longest entry name or link target, in bytes (Linux's PATH_MAX).
    static let maxPathBytes = 4096
    /// Most components in an entry name: each is a directory to create and a prefix to check,
    /// so a 4 KB name of `a/a/a/…` would otherwise imply 2,048 directories.
    static let maxDepth = 64
    /// Most bytes of path names held in all (100,000 paths of 4 KB would be 400 MB).
    static let maxPathBytesInAll = 32 << 20

    private(set) var nodes: [String: Node] = [:]
    /// Top-level names in the order they were first created: what gets moved into the destination.
    private(set) var topLevel: [String] = []
    private var entries = 0
    private var pathBytes = 0

    /// The components of an entry name (none for `./`, the destination itself): refused if
    /// absolute, too long, containing a NUL byte or `..`.
    static func components(_ name: String) throws -> [String] {
        guard name.utf8.count <= maxPathBytes else { throw FetchError.archive("entry name of \(name.utf8.count) bytes is too long") }
        guard !name.hasPrefix("/") else { throw FetchError.archive("entry '\(name)' has an absolute path") }
        guard !name.utf8.contains(0) else { throw FetchError.archive("entry name '\(name)' contains a NUL byte") }
        let parts = name.split(separator: "/").map(String.init).filter { $0 != "." }
        guard !parts.contains("..") else { throw FetchError.archive("entry '\(name)' climbs out with '..'") }
        guard parts.count <= maxDepth else { throw FetchError.archive("entry '\(name.prefix(80))…' is more than \(maxDepth) levels deep") }
        return parts
    }

    /// Refuses `parts` if one of its parent directories is a symlink or a file.
    func checkParents(_ parts: [String]) throws {
        for depth in parts.indices.dropLast() {
            let path = parts[...depth].joined(separator: "/")
            switch nodes[path] {
            case .symlink: throw FetchError.archive("entry '\(parts.joined(separator: "/"))' would be written through the link '\(path)'")
            case .file: throw FetchError.archive("entry '\(parts.joined(separator: "/"))' needs '\(path)' to be a directory, but it is a file")
            case .directory, nil: continue
            }
        }
    }

    /// The archive path a symlink at `link` with `target` points to, resolved lexically; refused
    /// if absolute, if `..` climbs above the destination, or if any step is a symlink.
    func resolve(link: [String], target: String) throws -> [String] {
        let name = link.joined(separator: "/")
        guard !target.isEmpty, target.utf8.count <= Self.maxPathBytes else {
            throw FetchError.archive("link '\(name)' has an empty or too long target")
        }
        guard !target.hasPrefix("/") else { throw FetchError.archive("link '\(name)' -> '\(target)' is absolute") }
        var stack = Array(link.dropLast())
        for part in target.split(separator: "/") where part != "." {
            if part == ".." {
                guard !stack.isEmpty else { throw FetchError.archive("link '\(name)' -> '\(target)' points outside the destination") }
                stack.removeLast()
            } else {
                stack.append(String(part))
                if case .symlink = nodes[stack.joined(separator: "/")] {
                    throw FetchError.archive("link '\(name)' -> '\(target)' goes through the link '\(stack.joined(separator: "/"))'")
                }
            }
        }
        return stack
    }

    /// Records a created entry (and its parent directories). Re-creating a directory or
    /// replacing a file is allowed, as tar does; any other change of an existing path is refused.
    mutating func add(_ parts: [String], _ node: Node) throws {
        let path = parts.joined(separator: "/")
        try count(path)
        try checkParents(parts)
        if let existing = nodes[path], !(existing == .directory && node == .directory || existing == .file && node == .file) {
            throw FetchError.archive("entry '\(path)' conflicts with an earlier entry at the same path")
        }
        for depth in parts.indices.dropLast() where nodes[parts[...depth].joined(separator: "/")] == nil {
            let parent = parts[...depth].joined(separator: "/")
            try count(parent)
            nodes[parent] = .directory
            if depth == 0 { topLevel.append(parts[0]) }
        }
        if nodes[path] == nil && parts.count == 1 { topLevel.append(path) }
        nodes[path] = node
    }

    /// Counts one more entry or implied directory, refusing the archive past `maxEntries` paths
    /// or `maxPathBytesInAll` bytes of names.
    private mutating func count(_ path: String) throws {
        entries += 1
        pathBytes += path.utf8.count
        guard entries <= Self.maxEntries, pathBytes <= Self.maxPathBytesInAll else {
            throw FetchError.archive("more than \(Self.maxEntries) paths or \(Self.maxPathBytesInAll >> 20) MiB of path names")
        }
    }

    /// The archive path a hard link names: a regular file this archive created, reached through no symlink.
    func hardlinkSource(_ target: String, link: [String]) throws -> [String] {
        guard let parts = try? Self.components(target), !parts.isEmpty else {
            throw FetchError.archive("hard link '\(link.joined(separator: "/"))' -> '\(target)' points outside the destination")
        }
        try checkParents(parts)
        guard nodes[parts.joined(separator: "/")] == .file else {
            throw FetchError.archive("hard link '\(link.joined(separator: "/"))' -> '\(target)' does not name a file of this archive")
        }
        return parts
    }

    /// Re-checks every symlink against the final tree.
    func verifyLinks() throws {
        for (path, node) in nodes {
            if case .symlink(let target) = node { _ = try resolve(link: path.split(separator: "/").map(String.init), target: target) }
        }
    }
}
