import Crypto
import Foundation
import Testing
@testable import ModelFetch

/// SHA-256 on a background thread: same digest as hashing inline, whatever the chunking.
@Suite("Background SHA-256")
struct BackgroundHasherTests {
    func hex(_ data: Data) -> String { SHA256.hash(data: data).map { String(format: "%02x", $0) }.joined() }

    func randomData(_ count: Int) -> Data {
        var generator = SystemRandomNumberGenerator()
        return Data((0..<count).map { _ in UInt8.random(in: 0...255, using: &generator) })
    }

    @Test("odd-sized chunks across block boundaries hash like one call; ranges are reported in order")
    func chunks() {
        let data = randomData(5 << 20 + 12_345)
        var reported: [Range<Int64>] = []
        let lock = NSLock()
        let hasher = BackgroundHasher(every: 1 << 20) { range in lock.withLock { reported.append(range) } }
        let sizes = [1, 100_000, 1 << 20, 3, 2 << 20, 777_777]
        var offset = 0
        for i in 0... {
            guard offset < data.count else { break }
            let n = min(sizes[i % sizes.count], data.count - offset)
            data[offset..<offset + n].withUnsafeBytes { hasher.update($0) }
            offset += n
        }
        #expect(hasher.finalize() == hex(data))
        #expect(reported.first?.lowerBound == 0)
        #expect(zip(reported, reported.dropFirst()).allSatisfy { $0.upperBound == $1.lowerBound })
        #expect((reported.last?.upperBound ?? 0) >= 4 << 20 && (reported.last?.upperBound ?? 0) <= Int64(data.count))
    }

    @Test("reset forgets what came before")
    func reset() {
        let hasher = BackgroundHasher()
        randomData(3 << 20).withUnsafeBytes { hasher.update($0) }
        hasher.reset()
        let data = randomData(1_500_000)
        data.withUnsafeBytes { hasher.update($0) }
        #expect(hasher.finalize() == hex(data))
    }

    @Test("nothing hashed: the digest of no bytes; close without a digest ends the thread")
    func empty() {
        #expect(BackgroundHasher().finalize() == hex(Data()))
        let abandoned = BackgroundHasher()
        randomData(10).withUnsafeBytes { abandoned.update($0) }
        abandoned.close()
    }
}
