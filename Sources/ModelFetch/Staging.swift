import Foundation

/// Where a fetch of several files (a release, a prefix) puts them until every one is verified: a
/// folder inside the destination, so that moving each into place is a rename on one file system.
/// A failed fetch removes it, leaving nothing behind.
///
/// ```swift
/// let staging = try Staging(in: directory, name: "release")
/// defer { staging.remove() }
/// _ = try fetch(source, sha256: digest, to: staging.url("model.onnx"), reportAs: ..., maxBytes: size)
/// try staging.write(manifestData, as: "model.json")
/// try staging.commit(["model.onnx", "model.json"])   // in order: the manifest last
/// ```
struct Staging {
    let folder: URL
    let destination: URL

    /// Creates `destination` if needed and an empty staging folder in it (one a killed run with
    /// the same pid left is removed first).
    init(in destination: URL, name: String) throws {
        let folder = destination.appendingPathComponent(".\(name).partial-\(getpid())")
        try Self.local("create \(folder.path)") {
            try FileManager.default.createDirectory(at: destination, withIntermediateDirectories: true)
            try? FileManager.default.removeItem(at: folder)
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        }
        (self.folder, self.destination) = (folder, destination)
    }

    /// Where `path` (relative to the destination) is staged.
    func url(_ path: String) -> URL { folder.appendingPathComponent(path) }

    func write(_ data: Data, as path: String) throws {
        try Self.local("write \(url(path).path)") { try data.write(to: url(path)) }
    }

    /// Moves the staged `paths` into the destination, in the order given, creating their folders.
    func commit(_ paths: [String]) throws {
        for path in paths {
            let target = destination.appendingPathComponent(path)
            try Self.local("create \(target.deletingLastPathComponent().path)") {
                try FileManager.default.createDirectory(at: target.deletingLastPathComponent(), withIntermediateDirectories: true)
            }
            guard rename(url(path).path, target.path) == 0 else {
                throw FetchError.transfer("cannot move into place at \(target.path): \(String(cString: strerror(errno)))")
            }
        }
    }

    func remove() { try? FileManager.default.removeItem(at: folder) }

    /// A local file operation, its failure as a fetch error (disk full: exit 6).
    private static func local(_ what: String, _ body: () throws -> Void) throws {
        do { try body() } catch {
            let code = (error as NSError).domain == NSPOSIXErrorDomain ? Int32((error as NSError).code) : 0
            let underlying = ((error as NSError).userInfo[NSUnderlyingErrorKey] as? NSError)?.code ?? 0
            throw [ENOSPC, EDQUOT].contains(code) || [Int(ENOSPC), Int(EDQUOT)].contains(underlying)
                ? FetchError.diskFull("\(what): \(error.localizedDescription)") : FetchError.transfer("\(what): \(error.localizedDescription)")
        }
    }
}
