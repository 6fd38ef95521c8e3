/// Pillow's separable bilinear resampling (antialiased when shrinking), to the bit.
///
/// Like Pillow's 8-bit path (`Resample.c`): weights computed in double precision, normalized,
/// then turned into 22-bit fixed point; sums in 32-bit integers; the horizontal pass runs first
/// and is rounded to 8 bits before the vertical pass. When only a crop of the resized image is
/// wanted, only the pixels of the crop (and the input rows they read) are computed.
enum Resampler {
    /// Fractional bits of the fixed-point weights: 32 - 8 - 2, as in Pillow.
    static let precisionBits: Int32 = 22

    /// Per output pixel of `range`: first input index and fixed-point weights (Pillow's
    /// `precompute_coeffs` and `normalize_coeffs_8bpc`), stored flat with `taps` weights per pixel
    /// (unused ones zero); index 0 is `range.lowerBound`.
    struct Coefficients {
        var starts: [Int]
        var weights: [Int32]
        var taps: Int
    }

    /// Only the output pixels in `range` (the crop): the resized size of a degenerate image can
    /// be enormous (a 65000×1 strip resizes to 16.6 million columns), the crop never is. Each
    /// pixel's weights depend on its own index only, so the crop's are the same as Pillow's.
    static func coefficients(inSize: Int, outSize: Int, range: Range<Int>) -> Coefficients {
        let scale = Double(inSize) / Double(outSize)
        let filterScale = max(scale, 1)
        let support = 1.0 * filterScale
        let inverse = 1.0 / filterScale
        var starts: [Int] = []
        var rows: [[Int32]] = []
        starts.reserveCapacity(range.count)
        for i in range {
            let center = (Double(i) + 0.5) * scale
            let lo = max(Int(center - support + 0.5), 0)
            let hi = min(Int(center + support + 0.5), inSize)
            var w = (lo..<hi).map { x -> Double in
                let t = abs((Double(x) - center + 0.5) * inverse)
                return t < 1 ? 1 - t : 0
            }
            let total = w.reduce(0, +)
            if total != 0 { w = w.map { $0 / total } }
            starts.append(lo)
            rows.append(w.map { Int32($0 * Double(1 << precisionBits) + 0.5) })  // the weights are never negative
        }
        let taps = rows.map(\.count).max() ?? 0
        return Coefficients(starts: starts, weights: rows.flatMap { $0 + [Int32](repeating: 0, count: taps - $0.count) }, taps: taps)
    }

    /// The region `crop` (x, y, width, height) of `image` resized to `width` × `height`.
    static func resize(_ image: RGBImage, width: Int, height: Int, crop: (x: Int, y: Int, width: Int, height: Int)) -> RGBImage {
        // Input rows the vertical pass reads for the crop's rows.
        var rows = crop.y..<(crop.y + crop.height)
        var vertical: Coefficients?
        if height != image.height {
            let c = coefficients(inSize: image.height, outSize: height, range: crop.y..<(crop.y + crop.height))
            let first = c.starts[0]
            let last = c.starts[crop.height - 1]
            rows = first..<min(image.height, last + c.taps)
            vertical = c
        }
        let columns =
            width != image.width
            ? horizontal(
                image,
                rows: rows,
                coefficients: coefficients(inSize: image.width, outSize: width, range: crop.x..<(crop.x + crop.width)),
                count: crop.width
            )
            : copyColumns(image, rows: rows, from: crop.x, count: crop.width)
        guard let vertical else { return columns }
        return verticalPass(columns, firstRow: rows.lowerBound, coefficients: vertical, count: crop.height)
    }

    /// Pillow's `clip8` for the non-negative sums a triangle filter makes (the sums start at one
    /// half, so the shift rounds).
    @inline(__always)
    private static func clip8(_ sum: Int32) -> UInt8 { UInt8(truncatingIfNeeded: min(sum >> precisionBits, 255)) }

    private static let half: Int32 = 1 << (precisionBits - 1)

    // The inner loops use wrapping arithmetic (&+, &*) on indices that are in range by
    // construction: Swift's overflow checks otherwise keep the loops from being vectorized.

    /// `c` holds the coefficients of the `count` output columns wanted.
    private static func horizontal(_ img: RGBImage, rows: Range<Int>, coefficients c: Coefficients, count: Int) -> RGBImage {
        var out = [UInt8](repeating: 0, count: count * rows.count * 3)
        img.pixels.withUnsafeBufferPointer { src in
            c.weights.withUnsafeBufferPointer { weights in
                c.starts.withUnsafeBufferPointer { starts in
                    out.withUnsafeMutableBufferPointer { dst in
                        var o = 0
                        for y in rows {
                            let row = src.baseAddress! + y * img.width * 3
                            for x in 0..<count {
                                var r = half
                                var g = half
                                var b = half
                                let start = starts[x]
                                let p = row + start &* 3
                                let w = weights.baseAddress! + x &* c.taps
                                for k in 0..<min(c.taps, img.width &- start) {
                                    let wt = w[k]
                                    let q = p + k &* 3
                                    r &+= Int32(q[0]) &* wt
                                    g &+= Int32(q[1]) &* wt
                                    b &+= Int32(q[2]) &* wt
                                }
                                dst[o] = clip8(r)
                                dst[o &+ 1] = clip8(g)
                                dst[o &+ 2] = clip8(b)
                                o &+= 3
                            }
                        }
                    }
                }
            }
        }
        return RGBImage(width: count, height: rows.count, pixels: out)
    }

    private static func copyColumns(_ img: RGBImage, rows: Range<Int>, from x0: Int, count: Int) -> RGBImage {
        var out: [UInt8] = []
        out.reserveCapacity(count * rows.count * 3)
        for y in rows { out += img.pixels[((y * img.width + x0) * 3)..<((y * img.width + x0 + count) * 3)] }
        return RGBImage(width: count, height: rows.count, pixels: out)
    }

    /// `img` holds input rows from `firstRow` on; computes the `count` output rows `c` describes.
    private static func verticalPass(_ img: RGBImage, firstRow: Int, coefficients c: Coefficients, count: Int) -> RGBImage {
        let stride = img.width * 3
        var out = [UInt8](repeating: 0, count: stride * count)
        var acc = [Int32](repeating: 0, count: stride)
        img.pixels.withUnsafeBufferPointer { src in
            c.weights.withUnsafeBufferPointer { weights in
                out.withUnsafeMutableBufferPointer { dst in
                    acc.withUnsafeMutableBufferPointer { acc in
                        for y in 0..<count {
                            let start = c.starts[y]
                            for i in 0..<stride { acc[i] = half }
                            for k in 0..<min(c.taps, firstRow + img.height - start) {
                                let wt = weights[y * c.taps + k]
                                if wt == 0 { continue }
                                let row = src.baseAddress! + (start + k - firstRow) * stride
                                for i in 0..<stride { acc[i] &+= Int32(row[i]) &* wt }
                            }
                            let line = dst.baseAddress! + y * stride
                            for i in 0..<stride { line[i] = clip8(acc[i]) }
                        }
                    }
                }
            }
        }
        return RGBImage(width: img.width, height: count, pixels: out)
    }
}
