/// EXIF orientation: JPEGs from cameras store pixels as shot and a tag that says how to turn them.
enum Orientation {
    /// The EXIF orientation (1–8) in a JPEG's APP1 segment, or 1 when there is none.
    static func exif(_ data: [UInt8]) -> Int {
        var i = 2
        while i + 4 <= data.count, data[i] == 0xFF {
            let marker = data[i + 1]
            if marker == 0xDA || marker == 0xD9 { break }  // image data starts: no more metadata
            let length = Int(data[i + 2]) << 8 | Int(data[i + 3])
            guard length >= 2, i + 2 + length <= data.count else { break }
            if marker == 0xE1, length >= 16, Array(data[(i + 4)..<(i + 10)]) == Array("Exif\0\0".utf8) {
                return tiffOrientation(Array(data[(i + 10)..<(i + 2 + length)])) ?? 1
            }
            i += 2 + length
        }
        return 1
    }

    private static func tiffOrientation(_ t: [UInt8]) -> Int? {
        guard t.count >= 8 else { return nil }
        let little = t[0] == 0x49
        func u16(_ o: Int) -> Int? { o + 2 <= t.count ? (little ? Int(t[o]) | Int(t[o + 1]) << 8 : Int(t[o]) << 8 | Int(t[o + 1])) : nil }
        func u32(_ o: Int) -> Int? { guard let a = u16(o), let b = u16(o + 2) else { return nil }; return little ? a | b << 16 : a << 16 | b }
        guard let ifd = u32(4), let count = u16(ifd) else { return nil }
        for k in 0..<min(count, 256) {
            let entry = ifd + 2 + k * 12
            guard let tag = u16(entry) else { return nil }
            if tag == 0x0112, let value = u16(entry + 8), (1...8).contains(value) { return value }
        }
        return nil
    }

    /// `image` turned upright for EXIF orientation `o` (as Pillow's `ImageOps.exif_transpose`).
    static func apply(_ o: Int, to image: RGBImage) -> RGBImage {
        guard (2...8).contains(o) else { return image }
        let (w, h) = (image.width, image.height)
        let swap = o >= 5
        let (ow, oh) = swap ? (h, w) : (w, h)
        var out = [UInt8](repeating: 0, count: image.pixels.count)
        image.pixels.withUnsafeBufferPointer { src in
            for y in 0..<oh {
                for x in 0..<ow {
                    let (sx, sy): (Int, Int) = switch o {
                    case 2: (w - 1 - x, y)
                    case 3: (w - 1 - x, h - 1 - y)
                    case 4: (x, h - 1 - y)
                    case 5: (y, x)
                    case 6: (y, h - 1 - x)
                    case 7: (w - 1 - y, h - 1 - x)
                    default: (w - 1 - y, x)
                    }
                    let s = (sy * w + sx) * 3, d = (y * ow + x) * 3
                    out[d] = src[s]; out[d + 1] = src[s + 1]; out[d + 2] = src[s + 2]
                }
            }
        }
        return RGBImage(width: ow, height: oh, pixels: out)
    }
}
