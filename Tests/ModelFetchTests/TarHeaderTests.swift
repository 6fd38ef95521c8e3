import Foundation
import Testing

@testable import ModelFetch

/// Tar header numbers and pax records come from the archive: every malformed one is refused.
@Suite("Tar header fields")
struct TarHeaderTests {
    func field(_ bytes: [UInt8]) -> ArraySlice<UInt8> { ArraySlice(bytes + [UInt8](repeating: 0, count: 12 - bytes.count)) }

    @Test func octalAndBase256() throws {
        #expect(try TarHeader.number(field(Array("0000000644 ".utf8)), field: "size") == 0o644)
        #expect(try TarHeader.number(field([0x80] + [UInt8](repeating: 0, count: 6) + [1, 0, 0, 0, 0]), field: "size") == 1 << 32)
        #expect(try TarHeader.number(field([]), field: "size") == 0)
    }

    @Test(
        "negative, overflowing or non-octal numbers are refused",
        arguments: [
            [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff],
            [0x80, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff],
            Array("0008".utf8), Array("-1".utf8), Array("+7".utf8),
        ] as [[UInt8]]
    )
    func refused(bytes: [UInt8]) {
        #expect(throws: FetchError.self) { _ = try TarHeader.number(field(bytes), field: "size") }
    }

    @Test func padding() throws {
        #expect(try TarHeader.padded(0) == 0 && TarHeader.padded(1) == 512 && TarHeader.padded(512) == 512)
        #expect(throws: FetchError.self) { _ = try TarHeader.padded(Int64.max) }
    }

    @Test func paxRecords() throws {
        #expect(try TarHeader.paxRecords(Data("16 path=a/b/cde\n11 size=42\n".utf8)) == ["path": "a/b/cde", "size": "42"])
        for bad in ["99 path=x\n", "5 path=abc\n", "x path=a\n", "12 pathxyzw\n", "13 path=a\0bc\n"] {
            #expect(throws: FetchError.self, "\(bad.debugDescription)") { _ = try TarHeader.paxRecords(Data(bad.utf8)) }
        }
    }
}
