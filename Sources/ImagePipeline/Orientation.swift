/// EXIF orientation: JPEGs from cameras store pixels as shot and a tag that says how to turn them.
enum Orientation {
    /// The EXIF orientation (1–8) in a JPEG's APP1 segment, or 1 when there is none.
    static func exif(_ data: [UInt8]) -> Int {
        for (marker, payload) in JPEGMarkers.segments(data) where marker == 0xE1 && payload.count >= 14 {
            if Array(data[payload.lowerBound..<(payload.lowerBound + 6)]) == Array("Exif\0\0".utf8) {
                return tiffOrientation(Array(data[(payload.lowerBound + 6)..<payload.upperBound])) ?? 1
            }
        }
        return 1
    }

    /// Whether turning upright needs a second image: the transposing orientations (5–8) do; the
    /// flips (2–4) are done in place.
    static func needsCopy(_ o: Int) -> Bool { (5...8).contains(o) }

    private static func tiffOrientation(_ t: [UInt8]) -> Int? {
        guard t.count >= 8 else { return nil }
        let little = t[0] == 0x49
        func u16(_ o: Int) -> Int? { o + 2 <= t.count ? (little ? Int(t[o]) | Int(t[o + 1]) << 8 : Int(t[o]) << 8 | Int(t[o + 1])) : nil }
        func u32(_ o: Int) -> Int? {
            guard let a = u16(o), let b = u16(o + 2) else { return nil }
            return little ? a | b << 16 : a << 16 | b
        }
        guard let ifd = u32(4), let count = u16(ifd) else { return nil }
        for k in 0..<min(count, 256) {
            let entry = ifd + 2 + k * 12
            guard let tag = u16(entry) else { return nil }
            if tag == 0x0112, let value = u16(entry + 8), (1...8).contains(value) { return value }
        }
        return nil
    }

    /// `image` turned upright for EXIF orientation `o` (as Pillow's `ImageOps.exif_transpose`).
    /// `image` is consumed: a flip then reuses its pixels without a copy.
    static func apply(_ o: Int, to image: consuming RGBImage) -> RGBImage {
        guard (2...8).contains(o) else { return image }
        if !needsCopy(o) {
            var upright = consume image
            flip(o, &upright)
            return upright
        }
        let (w, h) = (image.width, image.height)
        let (ow, oh) = (h, w)  // 5–8 transpose
        var out = [UInt8](repeating: 0, count: image.pixels.count)
        image.pixels.withUnsafeBufferPointer { src in
            for y in 0..<oh {
                for x in 0..<ow {
                    let (sx, sy): (Int, Int) =
                        switch o {
                        case 5: (y, x)
                        case 6: (y, h - 1 - x)
                        case 7: (w - 1 - y, h - 1 - x)
                        default: (w - 1 - y, x)
                        }
                    let s = (sy * w + sx) * 3
                    let d = (y * ow + x) * 3
                    out[d] = src[s]
                    out[d + 1] = src[s + 1]
                    out[d + 2] = src[s + 2]
                }
            }
        }
        return RGBImage(width: ow, height: oh, pixels: out)
    }

    /// Orientations 2 (mirror), 3 (half turn) and 4 (upside down), by swapping pixels in place.
    private static func flip(_ o: Int, _ image: inout RGBImage) {
        let (w, h) = (image.width, image.height)
        func swapPixels(_ p: inout [UInt8], _ a: Int, _ b: Int) {
            for c in 0..<3 { p.swapAt(a * 3 + c, b * 3 + c) }
        }
        switch o {
        case 2:
            for y in 0..<h { for x in 0..<(w / 2) { swapPixels(&image.pixels, y * w + x, y * w + w - 1 - x) } }
        case 3:
            for i in 0..<(w * h / 2) { swapPixels(&image.pixels, i, w * h - 1 - i) }
        default:
            for y in 0..<(h / 2) { for x in 0..<w { swapPixels(&image.pixels, y * w + x, (h - 1 - y) * w + x) } }
        }
    }
}

/// The segments of a JPEG before its image data: each marker and the range of its payload.
enum JPEGMarkers {
    static func segments(_ data: [UInt8]) -> [(marker: UInt8, payload: Range<Int>)] {
        var out: [(UInt8, Range<Int>)] = []
        var i = 2
        while i + 4 <= data.count, data[i] == 0xFF {
            let marker = data[i + 1]
            if marker == 0xDA || marker == 0xD9 { break }  // image data starts: no more metadata
            let length = Int(data[i + 2]) << 8 | Int(data[i + 3])
            guard length >= 2, i + 2 + length <= data.count else { break }
            out.append((marker, (i + 4)..<(i + 2 + length)))
            i += 2 + length
        }
        return out
    }

    /// Whether the frame is progressive (SOF2, SOF6, SOF10, SOF14), and its component count: a
    /// progressive JPEG is decoded through a whole-image buffer of DCT coefficients (2 bytes per
    /// component per pixel) whatever the output scale.
    static func frame(_ data: [UInt8]) -> (progressive: Bool, components: Int)? {
        for (marker, payload) in segments(data) where (0xC0...0xCF).contains(marker) && ![0xC4, 0xC8, 0xCC].contains(marker) {
            guard payload.count >= 6 else { return nil }
            return ([0xC2, 0xC6, 0xCA, 0xCE].contains(marker), Int(data[payload.lowerBound + 5]))
        }
        return nil
    }
}
