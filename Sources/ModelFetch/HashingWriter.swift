import Crypto
import Dispatch
import Foundation
import ModelStore
import Synchronization

/// Writes a byte stream to a file and hashes it (SHA-256) on two threads of its own.
///
/// The caller only copies bytes into a ring of 1 MiB blocks and goes back to receiving. Two
/// threads take every block in order, one hashing it and one writing it at its offset; the block
/// returns to the ring when both are done. SHA-256 (about 1.4 GB/s here even with the SHA
/// instructions) and the disk (about as fast) then overlap receiving and each other instead of
/// adding to them. Whole blocks are aligned, so the file can be opened with `O_DIRECT`: the disk
/// takes them straight from the ring, with no copy into the page cache, no dirty pages counting
/// against a build container's memory limit, and little left for the final `fsync`.
///
/// ```swift
/// let writer = HashingWriter(fd: fd)      // fd open for writing, O_DIRECT or not
/// guard writer.append(bytes) else { fail(writer.writeErrno) }
/// let hex = writer.finish()               // everything written and hashed; threads ended
/// ```
/// One caller thread at a time. Call `finish()` or `close()` exactly once.
final class HashingWriter: @unchecked Sendable {
    private static let blockSize = 1 << 20
    private static let blockCount = 16
    /// `O_DIRECT` needs buffers, offsets and lengths aligned to the device's logical block size;
    /// 4 KiB covers current disks. A misaligned tail is written through the page cache instead.
    private static let alignment = 4096

    /// What a slot of the ring carries besides bytes (a length > 0).
    private enum Message {
        /// Everything before is hashed and written: each thread wakes the caller.
        static let barrier = -1
        /// Like `barrier`, and the digest of everything since the start (or the last restart) is in `digest`.
        static let digest = -2
        /// Start over: a fresh hash, an empty file.
        static let restart = -3
        /// End the threads.
        static let stop = -4
    }

    private let fd: Int32
    private let blocks: UnsafeMutableRawBufferPointer
    /// Bytes in each block, or a `Message`.
    private let lengths: UnsafeMutablePointer<Int>
    // All start at 0: libdispatch traps when a semaphore is freed below its initial value.
    // `hashed` and `written` count blocks given back to the caller by each thread.
    private let hashed = DispatchSemaphore(value: 0)
    private let written = DispatchSemaphore(value: 0)
    private let hashable = DispatchSemaphore(value: 0)
    private let writable = DispatchSemaphore(value: 0)
    private let drained = DispatchSemaphore(value: 0)
    /// The `errno` of the first failed write, 0 while all is well.
    private let failure = Atomic<Int32>(0)
    /// Set by the hashing thread on `Message.digest`, read by the caller once drained.
    private var digest = ""
    private var running = true

    // The caller's side. The threads keep their own state (the SHA-256 context, the file offset)
    // on their stacks; the caller reaches it only through messages in the ring.
    private var producer = 0
    private var fill = 0

    /// `fd` may have `O_DIRECT` set; the writer clears it if the file system refuses aligned writes.
    init(fd: Int32) {
        self.fd = fd
        blocks = .allocate(byteCount: Self.blockSize * Self.blockCount, alignment: Self.alignment)
        lengths = .allocate(capacity: Self.blockCount)
        lengths.initialize(repeating: 0, count: Self.blockCount)
        for _ in 1..<Self.blockCount {
            hashed.signal()
            written.signal()
        }  // the caller's side owns block 0
        startThread("model-fetch sha256") { self.hashLoop() }
        startThread("model-fetch write") { self.writeLoop() }
    }

    deinit {
        blocks.deallocate()
        lengths.deallocate()
    }

    /// The `errno` of the first write that failed (ENOSPC, EIO, ...), or 0.
    var writeErrno: Int32 { failure.load(ordering: .acquiring) }

    /// Takes a copy of `bytes`; false once a write has failed (later bytes are dropped).
    func append(_ bytes: UnsafeRawBufferPointer) -> Bool {
        var rest = bytes
        while !rest.isEmpty {
            let n = min(rest.count, Self.blockSize - fill)
            (blocks.baseAddress! + producer * Self.blockSize + fill).copyMemory(from: rest.baseAddress!, byteCount: n)
            fill += n
            rest = UnsafeRawBufferPointer(rebasing: rest[n...])
            if fill == Self.blockSize { send(fill) }
        }
        return writeErrno == 0
    }

    /// Empties the file and forgets everything hashed (the server sent the whole object again).
    func reset() {
        fill = 0
        send(Message.restart)
    }

    /// Writes what is pending, ends the threads, and returns the lowercase hex SHA-256.
    func finish() -> String {
        if fill > 0 { send(fill) }
        endThreads(after: Message.digest)
        return digest
    }

    /// Ends the threads without a digest (an abandoned download), once they are done with the file.
    func close() {
        guard running else { return }
        endThreads(after: Message.barrier)
    }

    private func startThread(_ name: String, _ body: @escaping @Sendable () -> Void) {
        let thread = Thread(block: body)
        thread.name = name
        thread.start()
    }

    /// Sends `message` (barrier or digest), waits until both threads have reached it, then stops them.
    private func endThreads(after message: Int) {
        send(message)
        drained.wait()
        drained.wait()
        send(Message.stop)
        running = false
    }

    /// Hands the current block (or a message) on and takes the next free one.
    private func send(_ length: Int) {
        lengths[producer] = length
        hashable.signal()
        writable.signal()
        producer = (producer + 1) % Self.blockCount
        fill = 0
        if length != Message.stop {
            hashed.wait()
            written.wait()
        }
    }

    private func hashLoop() {
        var hasher = SHA256()
        var block = 0
        while true {
            hashable.wait()
            let length = lengths[block]
            switch length {
            case 1...: hasher.update(bufferPointer: UnsafeRawBufferPointer(start: blocks.baseAddress! + block * Self.blockSize, count: length))
            case Message.restart: hasher = SHA256()
            case Message.digest:
                digest = SHA256File.hex(hasher.finalize())
                drained.signal()
            case Message.barrier: drained.signal()
            default: break
            }
            hashed.signal()
            if length == Message.stop { return }
            block = (block + 1) % Self.blockCount
        }
    }

    private func writeLoop() {
        let openedDirect = FileFlags.isDirect(fd)
        var file = (offset: Int64(0), direct: openedDirect)
        var block = 0
        while true {
            writable.wait()
            // When the disk falls behind, blocks wait here: write a run of whole ones in one call.
            var taken = 1
            while lengths[block + taken - 1] == Self.blockSize, block + taken < Self.blockCount,
                writable.wait(timeout: .now()) == .success
            { taken += 1 }
            let last = lengths[block + taken - 1]
            let whole = last == Self.blockSize ? taken : taken - 1
            let start = blocks.baseAddress! + block * Self.blockSize
            if whole > 0 && writeErrno == 0 { write(start, whole * Self.blockSize, &file) }
            switch last {
            case Self.blockSize: break
            case 1...: if writeErrno == 0 { write(start + whole * Self.blockSize, last, &file) }
            case Message.barrier, Message.digest: drained.signal()
            case Message.restart:
                ftruncate(fd, 0)
                file.offset = 0
                if openedDirect && !file.direct { file.direct = FileFlags.setDirect(fd, true) }
            default: return  // Message.stop
            }
            for _ in 0..<taken { written.signal() }
            block = (block + taken) % Self.blockCount
        }
    }

    private func write(_ bytes: UnsafeRawPointer, _ count: Int, _ file: inout (offset: Int64, direct: Bool)) {
        var done = 0
        while done < count {
            if file.direct && (file.offset % Int64(Self.alignment) != 0 || (count - done) % Self.alignment != 0) {
                file.direct = FileFlags.setDirect(fd, false)
            }
            let n = pwrite(fd, bytes + done, count - done, off_t(file.offset))
            if n < 0 {
                let e = errno
                if e == EINTR { continue }
                if e == EINVAL && file.direct {  // this file system wants other alignment, or none
                    file.direct = FileFlags.setDirect(fd, false)
                    continue
                }
                failure.store(e, ordering: .releasing)
                return
            }
            done += n
            file.offset += Int64(n)
        }
    }
}
