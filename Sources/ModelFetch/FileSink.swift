import Foundation

/// Appends a download to a temporary file while hashing it; knows how to resume.
///
/// Bytes go to `write(2)` straight from libcurl's buffer; SHA-256 runs on its own thread
/// (`BackgroundHasher`), so a fetch costs about the larger of receiving and hashing, not their sum.
/// Every 8 MiB written and hashed, that thread also starts the range's writeback to disk
/// (`POSIX_FADV_DONTNEED` on dirty pages does that; PostgreSQL's `pg_flush_data` uses it where
/// `sync_file_range` is missing): the final `fsync` then has little left to wait for, and a
/// multi-gigabyte model never piles up as dirty page cache, which counts against a build
/// container's memory limit.
final class FileSink: BodySink {
    let path: String
    private(set) var fd: Int32
    private(set) var size: Int64 = 0
    private let hasher: BackgroundHasher
    private(set) var writeErrno: Int32 = 0
    /// Why `writeErrno` is ENOSPC before anything was written, if that is the case.
    private(set) var spaceShortfall: String?

    init(path: String) throws {
        self.path = path
        unlink(path)
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw FetchError.transfer("cannot create \(path): \(String(cString: strerror(errno)))") }
        self.fd = fd
        hasher = BackgroundHasher(every: 8 << 20) { written in
            _ = posix_fadvise(fd, off_t(written.lowerBound), off_t(written.count), POSIX_FADV_DONTNEED)
        }
    }

    deinit {
        hasher.close()
        if fd >= 0 { close(fd) }
    }

    func begin(status: Int, length: Int64?) -> Bool {
        // The server ignored our Range and sends the whole object: start over.
        if status == 200 && size > 0 { reset() }
        // Fail before downloading gigabytes that cannot fit.
        var fs = statvfs()
        if let length, fstatvfs(fd, &fs) == 0 {
            let available = Int64(fs.f_bavail) * Int64(fs.f_frsize)
            if length > available {
                writeErrno = ENOSPC
                spaceShortfall = "\(length) more bytes needed, \(available) available"
                return false
            }
        }
        return true
    }

    func write(_ bytes: UnsafeRawBufferPointer) -> Bool {
        var offset = 0
        while offset < bytes.count {
            let n = Foundation.write(fd, bytes.baseAddress! + offset, bytes.count - offset)
            if n < 0 {
                if errno == EINTR { continue }
                writeErrno = errno
                return false
            }
            offset += n
        }
        hasher.update(bytes)
        size += Int64(bytes.count)
        return true
    }

    func reset() {
        ftruncate(fd, 0)
        lseek(fd, 0, SEEK_SET)
        size = 0
        hasher.reset()
    }

    /// Flushes to disk and returns the hex SHA-256 of everything written.
    func finish() throws -> String {
        let digest = hasher.finalize()  // first: the hashing thread uses `fd` until it ends
        guard fsync(fd) == 0 else { throw FetchError.diskFull("fsync \(path): \(String(cString: strerror(errno)))") }
        close(fd)
        fd = -1
        return digest
    }
}
