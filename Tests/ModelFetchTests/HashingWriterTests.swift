import Crypto
import Foundation
import Testing

@testable import ModelFetch

/// Writing and hashing on background threads: the file and the digest come out as if done inline,
/// whatever the chunking, with or without `O_DIRECT`.
@Suite("Hashing writer")
struct HashingWriterTests {
    func hex(_ data: Data) -> String { SHA256.hash(data: data).map { String(format: "%02x", $0) }.joined() }

    func randomData(_ count: Int) -> Data {
        var generator = SystemRandomNumberGenerator()
        let words = (0..<(count + 7) / 8).map { _ in generator.next() }
        return words.withUnsafeBytes { Data($0.prefix(count)) }
    }

    /// A new file in a scratch directory on the disk the tests build on, opened like `FileSink` does.
    func openScratch(direct: Bool) throws -> (fd: Int32, path: String) {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("hashing-writer-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let path = dir.appendingPathComponent("out.bin").path
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | (direct ? FileFlags.oDirect : 0), 0o644)
        return (fd, path)
    }

    /// Whether the scratch file system takes O_DIRECT to a disk. tmpfs accepts the flag (Linux 6.6
    /// and later) but is the page cache itself, so there is nothing to bypass.
    static let directIO: Bool = {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("direct-probe-\(getpid())").path
        defer { unlink(path) }
        let fd = open(path, O_WRONLY | O_CREAT | FileFlags.oDirect, 0o644)
        defer { if fd >= 0 { close(fd) } }
        guard fd >= 0, FileFlags.isDirect(fd) else { return false }
        // The type of the mount that holds the file (the longest mount point that prefixes its path).
        var type = ""
        var longest = -1
        for line in ((try? String(contentsOfFile: "/proc/self/mounts", encoding: .utf8)) ?? "").split(separator: "\n") {
            let fields = line.split(separator: " ").map(String.init)
            guard fields.count > 2, fields[1] == "/" || path.hasPrefix(fields[1] + "/"), fields[1].count > longest else { continue }
            (type, longest) = (fields[2], fields[1].count)
        }
        return type != "tmpfs" && type != "ramfs"
    }()

    func write(_ data: Data, to writer: HashingWriter, sizes: [Int] = [1, 100_000, 1 << 20, 3, 2 << 20, 777_777]) -> Bool {
        var offset = 0
        for i in 0... {
            guard offset < data.count else { return true }
            let n = min(sizes[i % sizes.count], data.count - offset)
            guard data[offset..<offset + n].withUnsafeBytes({ writer.append($0) }) else { return false }
            offset += n
        }
        return true
    }

    @Test("odd-sized chunks across block boundaries, and a tail that is not block-aligned", arguments: [false, true])
    func chunks(direct: Bool) throws {
        let (fd, path) = try openScratch(direct: direct && Self.directIO)
        #expect(fd >= 0)
        defer { close(fd) }
        let data = randomData(5 << 20 + 12_345)
        let writer = HashingWriter(fd: fd)
        #expect(write(data, to: writer))
        #expect(writer.finish() == hex(data))
        #expect(writer.writeErrno == 0)
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == data)
    }

    @Test(
        "with O_DIRECT, whole blocks bypass the page cache",
        .enabled(if: directIO, "no disk behind O_DIRECT in the scratch directory (refused, or tmpfs)")
    )
    func bypassesPageCache() throws {
        let (fd, path) = try openScratch(direct: true)
        defer { close(fd) }
        let data = randomData(8 << 20)
        let writer = HashingWriter(fd: fd)
        #expect(write(data, to: writer))
        _ = writer.finish()
        let read = open(path, O_RDONLY)
        defer { close(read) }
        let map = mmap(nil, data.count, PROT_READ, MAP_SHARED, read, 0)!
        defer { munmap(map, data.count) }
        let pages = data.count / Int(getpagesize())
        var resident = [UInt8](repeating: 0, count: pages)
        #expect(mincore(map, data.count, &resident) == 0)
        #expect(resident.filter { $0 & 1 != 0 }.count == 0, "8 MiB written with O_DIRECT should leave no cached pages")
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == data)
    }

    @Test("reset empties the file and forgets what came before")
    func reset() throws {
        let (fd, path) = try openScratch(direct: Self.directIO)
        defer { close(fd) }
        let writer = HashingWriter(fd: fd)
        #expect(write(randomData(3 << 20 + 5), to: writer))
        writer.reset()
        let data = randomData(1_500_000)
        #expect(write(data, to: writer))
        #expect(writer.finish() == hex(data))
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == data)
    }

    @Test("nothing written: an empty file with the digest of no bytes; close without a digest ends the threads")
    func empty() throws {
        let (fd, path) = try openScratch(direct: Self.directIO)
        defer { close(fd) }
        #expect(HashingWriter(fd: fd).finish() == hex(Data()))
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)).isEmpty)
        let abandoned = HashingWriter(fd: fd)
        _ = randomData(10).withUnsafeBytes { abandoned.append($0) }
        abandoned.close()
    }

    @Test("a failing disk (/dev/full) makes append return false with ENOSPC, and finish still returns")
    func diskFull() {
        let fd = open("/dev/full", O_WRONLY)
        #expect(fd >= 0)
        defer { close(fd) }
        let writer = HashingWriter(fd: fd)
        // More than the ring holds, so some append must wait for the failed write and see it.
        #expect(!write(randomData(20 << 20), to: writer, sizes: [1 << 20]))
        #expect(writer.writeErrno == ENOSPC)
        _ = writer.finish()
        #expect(writer.writeErrno == ENOSPC)
    }
}
