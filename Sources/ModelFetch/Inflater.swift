import CZlib
import Foundation

/// Reads a gzip file as a stream of inflated bytes, a bounded buffer at a time, so an archive
/// that inflates to gigabytes never has to fit in memory.
///
/// ```swift
/// let gz = try Inflater(URL(fileURLWithPath: "model.tar.gz"))
/// while let chunk = try gz.read(max: 1 << 20) { consume(chunk) }
/// ```
final class Inflater {
    private let handle: FileHandle
    private let name: String
    // zlib keeps a pointer back to its z_stream and refuses one that has moved: keep it on the heap.
    private let stream = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
    private var input = Data()
    private var inputOffset = 0
    private var ended = false

    init(_ url: URL) throws {
        guard let handle = FileHandle(forReadingAtPath: url.path) else { throw FetchError.archive("cannot read \(url.path)") }
        self.handle = handle
        name = url.lastPathComponent
        stream.initialize(to: z_stream())
        // 15 + 32: a window of 2^15 and automatic gzip/zlib header detection.
        guard inflateInit2_(stream, 15 + 32, zlibVersion(), Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            stream.deallocate()
            try? handle.close()
            throw FetchError.archive("zlib init failed")
        }
    }

    deinit {
        inflateEnd(stream)
        stream.deallocate()
        try? handle.close()
    }

    /// Up to `max` inflated bytes; nil once the gzip stream has ended. Never returns empty data.
    func read(max: Int) throws -> Data? {
        var out = Data(count: max)
        var produced = 0
        while produced == 0 && !ended {
            if inputOffset == input.count {
                guard let chunk = try handle.read(upToCount: 1 << 20), !chunk.isEmpty else { throw FetchError.archive("\(name) is truncated") }
                input = chunk
                inputOffset = 0
            }
            let status = out.withUnsafeMutableBytes { (o: UnsafeMutableRawBufferPointer) -> Int32 in
                input.withUnsafeMutableBytes { (i: UnsafeMutableRawBufferPointer) -> Int32 in
                    stream.pointee.next_in = i.baseAddress!.assumingMemoryBound(to: Bytef.self) + inputOffset
                    stream.pointee.avail_in = uInt(i.count - inputOffset)
                    stream.pointee.next_out = o.baseAddress!.assumingMemoryBound(to: Bytef.self) + produced
                    stream.pointee.avail_out = uInt(o.count - produced)
                    let status = CZlib.inflate(stream, Z_NO_FLUSH)
                    inputOffset = i.count - Int(stream.pointee.avail_in)
                    produced = o.count - Int(stream.pointee.avail_out)
                    return status
                }
            }
            switch status {
            case Z_STREAM_END: ended = true
            case Z_OK, Z_BUF_ERROR: break  // Z_BUF_ERROR: needs more input, which the next turn reads
            default: throw FetchError.archive("\(name) is not valid gzip data (zlib \(status))")
            }
        }
        return produced == 0 ? nil : out.prefix(produced)
    }
}

/// Exact-length reads on top of `Inflater`, for a format made of fixed-size blocks (tar).
final class InflatedBytes {
    private let inflater: Inflater
    private var buffer = Data()

    init(_ inflater: Inflater) { self.inflater = inflater }

    /// Bytes inflated but not yet read (after a failed read: what the stream ended with).
    var buffered: Int { buffer.count }

    /// Exactly `count` bytes (the caller bounds `count`), or nil if the stream ends first.
    func read(exactly count: Int) throws -> Data? {
        while buffer.count < count {
            guard let more = try inflater.read(max: max(count - buffer.count, 64 << 10)) else { return nil }
            buffer.append(more)
        }
        let out = buffer.prefix(count)
        buffer = Data(buffer.dropFirst(count))
        return Data(out)
    }

    /// Passes the next `count` bytes to `emit` in pieces of at most 1 MiB; false if the stream ends first.
    func stream(_ count: Int64, _ emit: (Data) throws -> Void) throws -> Bool {
        var left = count
        while left > 0 {
            guard let piece = try read(exactly: Int(min(left, 1 << 20))) else { return false }
            try emit(piece)
            left -= Int64(piece.count)
        }
        return true
    }
}
