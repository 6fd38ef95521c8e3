/// Pillow-compatible separable bilinear resampling (antialiased when shrinking).
///
/// Like Pillow, the horizontal pass runs first and its result is rounded to 8 bits before the
/// vertical pass. When only a crop of the resized image is wanted, only the pixels of the crop
/// (and the input rows they read) are computed: the same values, for about half the work.
enum Resampler {
    /// Per output pixel: first input index and normalized weights (Pillow's `precompute_coeffs`),
    /// stored flat with `taps` weights per pixel (unused ones zero).
    struct Coefficients {
        var starts: [Int]
        var weights: [Float]
        var taps: Int
    }

    static func coefficients(inSize: Int, outSize: Int) -> Coefficients {
        let scale = Double(inSize) / Double(outSize)
        let filterScale = max(scale, 1)
        let support = 1.0 * filterScale
        var starts: [Int] = [], rows: [[Float]] = []
        for i in 0..<outSize {
            let center = (Double(i) + 0.5) * scale
            let lo = max(Int(center - support + 0.5), 0)
            let hi = min(Int(center + support + 0.5), inSize)
            var w = (lo..<hi).map { x -> Double in
                let t = abs((Double(x) - center + 0.5) / filterScale)
                return t < 1 ? 1 - t : 0
            }
            let total = w.reduce(0, +)
            if total != 0 { w = w.map { $0 / total } }
            starts.append(lo)
            rows.append(w.map(Float.init))
        }
        let taps = rows.map(\.count).max() ?? 0
        return Coefficients(starts: starts, weights: rows.flatMap { $0 + [Float](repeating: 0, count: taps - $0.count) }, taps: taps)
    }

    /// The region `crop` (x, y, width, height) of `image` resized to `width` × `height`.
    static func resize(_ image: RGBImage, width: Int, height: Int, crop: (x: Int, y: Int, width: Int, height: Int)) -> RGBImage {
        // Input rows the vertical pass reads for the crop's rows.
        var rows = crop.y..<(crop.y + crop.height)
        var vertical: Coefficients?
        if height != image.height {
            let c = coefficients(inSize: image.height, outSize: height)
            let first = c.starts[crop.y], last = c.starts[crop.y + crop.height - 1]
            rows = first..<min(image.height, last + c.taps)
            vertical = c
        }
        let columns = width != image.width
            ? horizontal(image, rows: rows, coefficients: coefficients(inSize: image.width, outSize: width), from: crop.x, count: crop.width)
            : copyColumns(image, rows: rows, from: crop.x, count: crop.width)
        guard let vertical else { return columns }
        return verticalPass(columns, firstRow: rows.lowerBound, coefficients: vertical, from: crop.y, count: crop.height)
    }

    /// Rounds like Pillow's `clip8` for the non-negative sums a triangle filter makes.
    @inline(__always)
    private static func clamp(_ v: Float) -> UInt8 { UInt8(min(v + 0.5, 255)) }

    private static func horizontal(_ img: RGBImage, rows: Range<Int>, coefficients c: Coefficients, from x0: Int, count: Int) -> RGBImage {
        var out = [UInt8](repeating: 0, count: count * rows.count * 3)
        img.pixels.withUnsafeBufferPointer { src in
            c.weights.withUnsafeBufferPointer { weights in
                out.withUnsafeMutableBufferPointer { dst in
                    for (j, y) in rows.enumerated() {
                        let row = y * img.width * 3
                        for x in 0..<count {
                            var r: Float = 0, g: Float = 0, b: Float = 0
                            var p = row + c.starts[x0 + x] * 3
                            let w = (x0 + x) * c.taps
                            let n = min(c.taps, img.width - c.starts[x0 + x])
                            for k in 0..<n {
                                let wt = weights[w + k]
                                r += Float(src[p]) * wt; g += Float(src[p + 1]) * wt; b += Float(src[p + 2]) * wt
                                p += 3
                            }
                            let o = (j * count + x) * 3
                            dst[o] = clamp(r); dst[o + 1] = clamp(g); dst[o + 2] = clamp(b)
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

    /// `img` holds input rows from `firstRow` on; computes output rows `y0..<y0+count`.
    private static func verticalPass(_ img: RGBImage, firstRow: Int, coefficients c: Coefficients, from y0: Int, count: Int) -> RGBImage {
        let stride = img.width * 3
        var out = [UInt8](repeating: 0, count: stride * count)
        var acc = [Float](repeating: 0, count: stride)
        img.pixels.withUnsafeBufferPointer { src in
            c.weights.withUnsafeBufferPointer { weights in
                out.withUnsafeMutableBufferPointer { dst in
                    acc.withUnsafeMutableBufferPointer { acc in
                        for y in 0..<count {
                            let start = c.starts[y0 + y]
                            for i in 0..<stride { acc[i] = 0 }
                            for k in 0..<min(c.taps, firstRow + img.height - start) {
                                let wt = weights[(y0 + y) * c.taps + k]
                                if wt == 0 { continue }
                                let row = (start + k - firstRow) * stride
                                for i in 0..<stride { acc[i] += Float(src[row + i]) * wt }
                            }
                            for i in 0..<stride { dst[y * stride + i] = clamp(acc[i]) }
                        }
                    }
                }
            }
        }
        return RGBImage(width: img.width, height: count, pixels: out)
    }
}
