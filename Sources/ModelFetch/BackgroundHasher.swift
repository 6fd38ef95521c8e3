import Crypto
import Dispatch
import Foundation

/// SHA-256 on its own thread, so hashing overlaps receiving and writing.
///
/// SHA-256 is sequential and, even with the CPU's SHA instructions, slower (about 1.4 GB/s here)
/// than receiving plus writing to the page cache; done inline it added its whole time to a fetch.
/// Bytes are copied into a ring of blocks that one thread hashes in order.
///
/// ```swift
/// let hasher = BackgroundHasher(every: 8 << 20) { range in startWriteback(range) }
/// hasher.update(bytes)          // returns once the bytes are copied
/// let hex = hasher.finalize()   // waits for the hashing thread, then ends it
/// ```
/// One caller thread at a time. Call `finalize()` or `close()` exactly once: the thread holds the
/// hasher until then.
final class BackgroundHasher: @unchecked Sendable {
    private static let blockSize = 1 << 20
    private static let blockCount = 8
    private static let barrier = -1
    private static let stop = -2

    private let blocks: UnsafeMutableRawBufferPointer
    /// Bytes in each block, or `barrier` (report back) or `stop` (end the thread).
    /// A pointer, not an array: both threads touch it, and an array's copy-on-write check would race.
    private let lengths: UnsafeMutablePointer<Int>
    // Both start at 0: libdispatch traps when a semaphore is freed below its initial value.
    private let free = DispatchSemaphore(value: 0)
    private let filled = DispatchSemaphore(value: 0)
    private let drained = DispatchSemaphore(value: 0)
    private var running = true

    // The caller's side.
    private var producer = 0
    private var fill = 0

    // The hashing thread's side (the caller touches them only while the thread is drained).
    private var consumer = 0
    private var hasher = SHA256()
    private var hashed: Int64 = 0
    private var reported: Int64 = 0
    private let interval: Int64
    private let afterHashing: ((Range<Int64>) -> Void)?

    /// `afterHashing` runs on the hashing thread each time about `interval` more bytes are hashed,
    /// with the byte range (from the start, or from the last `reset()`) hashed since the last call.
    init(every interval: Int = 8 << 20, afterHashing: ((Range<Int64>) -> Void)? = nil) {
        self.interval = Int64(interval)
        self.afterHashing = afterHashing
        blocks = .allocate(byteCount: Self.blockSize * Self.blockCount, alignment: 64)
        lengths = .allocate(capacity: Self.blockCount)
        lengths.initialize(repeating: 0, count: Self.blockCount)
        for _ in 1..<Self.blockCount { free.signal() }  // the caller's side owns block 0
        let thread = Thread { self.hashLoop() }
        thread.name = "model-fetch sha256"
        thread.start()
    }

    deinit {
        blocks.deallocate()
        lengths.deallocate()
    }

    func update(_ bytes: UnsafeRawBufferPointer) {
        var rest = bytes
        while !rest.isEmpty {
            let n = min(rest.count, Self.blockSize - fill)
            (blocks.baseAddress! + producer * Self.blockSize + fill).copyMemory(from: rest.baseAddress!, byteCount: n)
            fill += n
            rest = UnsafeRawBufferPointer(rebasing: rest[n...])
            if fill == Self.blockSize { send(fill) }
        }
    }

    /// Forgets everything hashed so far.
    func reset() {
        drain()
        hasher = SHA256()
        hashed = 0
        reported = 0
    }

    /// The lowercase hex digest of all bytes given; ends the hashing thread.
    func finalize() -> String {
        drain()
        let digest = hasher.finalize()
        endThread()
        return digest.map { String(format: "%02x", $0) }.joined()
    }

    /// Ends the hashing thread without a digest (an abandoned download). Returns once the thread
    /// has finished with `afterHashing`.
    func close() {
        guard running else { return }
        drain()
        endThread()
    }

    private func endThread() {
        send(Self.stop)
        running = false
    }

    /// Hands the current block (or a control message) to the hashing thread and takes the next free one.
    private func send(_ length: Int) {
        lengths[producer] = length
        filled.signal()
        producer = (producer + 1) % Self.blockCount
        fill = 0
        if length != Self.stop { free.wait() }
    }

    /// Hashes what is pending and waits until the thread has done so.
    private func drain() {
        if fill > 0 { send(fill) }
        send(Self.barrier)
        drained.wait()
    }

    private func hashLoop() {
        while true {
            filled.wait()
            let length = lengths[consumer]
            if length == Self.stop { return }
            if length == Self.barrier {
                drained.signal()
            } else {
                hasher.update(bufferPointer: UnsafeRawBufferPointer(start: blocks.baseAddress! + consumer * Self.blockSize, count: length))
                hashed += Int64(length)
            }
            consumer = (consumer + 1) % Self.blockCount
            free.signal()
            if let afterHashing, hashed - reported >= interval {
                afterHashing(reported..<hashed)
                reported = hashed
            }
        }
    }
}
