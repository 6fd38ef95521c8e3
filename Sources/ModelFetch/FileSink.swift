import Foundation

/// Appends a download to a temporary file while hashing it; knows how to resume.
///
/// libcurl's callback only copies the bytes into `HashingWriter`'s ring; hashing and writing
/// run on its threads, so a fetch costs about the slowest of receiving, hashing and writing,
/// not their sum. The file is opened with `O_DIRECT` where the file system allows it.
final class FileSink: BodySink {
    let path: String
    private(set) var fd: Int32
    /// Bytes received (handed to the writer; `finish()` waits until they are on disk).
    private(set) var size: Int64 = 0
    private let writer: HashingWriter
    private var failedErrno: Int32 = 0
    /// Why `writeErrno` is ENOSPC before anything was written, if that is the case.
    private(set) var spaceShortfall: String?
    /// Most bytes the object may have (a manifest's `artifact.size`); more ends the transfer.
    var maxBytes: Int64?
    /// True once the server announced or sent more than `maxBytes`.
    private(set) var exceeded = false

    init(path: String) throws {
        self.path = path
        unlink(path)
        let flags = O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC
        var fd = open(path, flags | FileFlags.oDirect, 0o644)
        if fd < 0 && errno == EINVAL { fd = open(path, flags, 0o644) }  // no O_DIRECT here (tmpfs before Linux 6.6)
        guard fd >= 0 else { throw FetchError.transfer("cannot create \(path): \(String(cString: strerror(errno)))") }
        self.fd = fd
        writer = HashingWriter(fd: fd)
    }

    deinit {
        writer.close()
        if fd >= 0 { close(fd) }
    }

    /// The `errno` of a failed write or of the free-space check, or 0.
    var writeErrno: Int32 { failedErrno != 0 ? failedErrno : writer.writeErrno }

    func begin(status: Int, length: Int64?) -> Bool {
        // The server ignored our Range and sends the whole object: start over.
        if status == 200 && size > 0 { reset() }
        if let maxBytes, let length, size + length > maxBytes {
            exceeded = true
            return false
        }
        // Fail before downloading gigabytes that cannot fit.
        var fs = statvfs()
        if let length, fstatvfs(fd, &fs) == 0 {
            let available = Int64(fs.f_bavail) * Int64(fs.f_frsize)
            if length > available {
                failedErrno = ENOSPC
                spaceShortfall = "\(length) more bytes needed, \(available) available"
                return false
            }
        }
        return true
    }

    func write(_ bytes: UnsafeRawBufferPointer) -> Bool {
        if let maxBytes, size + Int64(bytes.count) > maxBytes {
            exceeded = true
            return false
        }
        guard writer.append(bytes) else { return false }
        size += Int64(bytes.count)
        return true
    }

    func reset() {
        writer.reset()
        size = 0
    }

    /// Writes out what is pending, flushes to disk and returns the hex SHA-256 of everything written.
    func finish() throws -> String {
        let digest = writer.finish()  // first: the writing thread uses `fd` until it ends
        if writer.writeErrno != 0 { throw Fetcher.writeError(self, path) }
        guard fsync(fd) == 0 else { throw FetchError.diskFull("fsync \(path): \(String(cString: strerror(errno)))") }
        close(fd)
        fd = -1
        return digest
    }
}
