/// Pillow-compatible separable bilinear resampling (antialiased when shrinking).
enum Resampler {
    /// Per output pixel: first input index and normalized weights (Pillow's `precompute_coeffs`).
    static func coefficients(inSize: Int, outSize: Int) -> [(start: Int, weights: [Float])] {
        let scale = Double(inSize) / Double(outSize)
        let filterScale = max(scale, 1)
        let support = 1.0 * filterScale
        return (0..<outSize).map { i in
            let center = (Double(i) + 0.5) * scale
            let lo = max(Int(center - support + 0.5), 0)
            let hi = min(Int(center + support + 0.5), inSize)
            var w = (lo..<hi).map { x -> Double in
                let t = abs((Double(x) - center + 0.5) / filterScale)
                return t < 1 ? 1 - t : 0
            }
            let total = w.reduce(0, +)
            if total != 0 { w = w.map { $0 / total } }
            return (lo, w.map(Float.init))
        }
    }

    static func resize(_ image: RGBImage, width: Int, height: Int) -> RGBImage {
        var img = image
        if width != img.width { img = horizontal(img, width: width) }
        if height != img.height { img = vertical(img, height: height) }
        return img
    }

    private static func clamp(_ v: Float) -> UInt8 { UInt8(max(0, min(255, (v + 0.5).rounded(.down)))) }

    private static func horizontal(_ img: RGBImage, width: Int) -> RGBImage {
        let coeffs = coefficients(inSize: img.width, outSize: width)
        var out = [UInt8](repeating: 0, count: width * img.height * 3)
        img.pixels.withUnsafeBufferPointer { src in
            for y in 0..<img.height {
                let row = y * img.width * 3
                for (x, c) in coeffs.enumerated() {
                    var r: Float = 0, g: Float = 0, b: Float = 0
                    for (k, wt) in c.weights.enumerated() {
                        let p = row + (c.start + k) * 3
                        r += Float(src[p]) * wt; g += Float(src[p + 1]) * wt; b += Float(src[p + 2]) * wt
                    }
                    let o = (y * width + x) * 3
                    out[o] = clamp(r); out[o + 1] = clamp(g); out[o + 2] = clamp(b)
                }
            }
        }
        return RGBImage(width: width, height: img.height, pixels: out)
    }

    private static func vertical(_ img: RGBImage, height: Int) -> RGBImage {
        let coeffs = coefficients(inSize: img.height, outSize: height)
        let stride = img.width * 3
        var out = [UInt8](repeating: 0, count: img.width * height * 3)
        var acc = [Float](repeating: 0, count: stride)
        img.pixels.withUnsafeBufferPointer { src in
            for (y, c) in coeffs.enumerated() {
                for i in 0..<stride { acc[i] = 0 }
                for (k, wt) in c.weights.enumerated() {
                    let row = (c.start + k) * stride
                    for i in 0..<stride { acc[i] += Float(src[row + i]) * wt }
                }
                for i in 0..<stride { out[y * stride + i] = clamp(acc[i]) }
            }
        }
        return RGBImage(width: img.width, height: height, pixels: out)
    }
}
