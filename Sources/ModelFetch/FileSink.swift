import Crypto
import Foundation

/// Appends a download to a temporary file while hashing it; knows how to resume.
final class FileSink: BodySink {
    let path: String
    private(set) var fd: Int32
    private(set) var size: Int64 = 0
    private var hasher = SHA256()
    /// The offset the current request asked to start from.
    var requestedStart: Int64 = 0
    private var firstWrite = true
    private(set) var writeErrno: Int32 = 0

    init(path: String) throws {
        self.path = path
        unlink(path)
        fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw FetchError.transfer("cannot create \(path): \(String(cString: strerror(errno)))") }
    }

    deinit { if fd >= 0 { close(fd) } }

    /// Prepares for a (re)request starting at the current size.
    func beginRequest() {
        requestedStart = size
        firstWrite = true
    }

    func write(_ bytes: UnsafeRawBufferPointer, status: Int) -> Bool {
        if firstWrite {
            firstWrite = false
            // The server ignored our Range and sent the whole object: start over.
            if status == 200 && size > 0 { reset() }
        }
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
        hasher.update(bufferPointer: bytes)
        size += Int64(bytes.count)
        return true
    }

    func reset() {
        ftruncate(fd, 0)
        lseek(fd, 0, SEEK_SET)
        size = 0
        hasher = SHA256()
    }

    /// Flushes to disk and returns the hex SHA-256 of everything written.
    func finish() throws -> String {
        guard fsync(fd) == 0 else { throw FetchError.diskFull("fsync \(path): \(String(cString: strerror(errno)))") }
        close(fd)
        fd = -1
        return hasher.finalize().map { String(format: "%02x", $0) }.joined()
    }
}
