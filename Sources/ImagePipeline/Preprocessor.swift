/// Turns an image into a model input: resize the shorter side, center-crop, normalize, CHW.
///
/// Resizing reproduces Pillow's `Image.resize(..., BILINEAR)` bit for bit (`Resampler`): a
/// triangle filter widened by the scale factor when shrinking (antialiasing), Pillow's fixed-point
/// weights, horizontal pass first, 8-bit between passes.
///
/// ```swift
/// let pre = Preprocessor(resizeShorter: 256, crop: (224, 224), mean: [127.5, 127.5, 127.5], std: [127.5, 127.5, 127.5])
/// let chw: [Float] = pre.tensor(from: image)   // 3 × 224 × 224 values
/// ```
public struct Preprocessor: Sendable {
    public var resizeShorter: Int
    public var crop: (width: Int, height: Int)
    public var mean: [Float]
    public var std: [Float]

    public init(resizeShorter: Int, crop: (width: Int, height: Int), mean: [Float], std: [Float]) {
        self.resizeShorter = resizeShorter
        self.crop = crop
        self.mean = mean
        self.std = std
    }

    /// Number of floats `tensor(from:)` returns.
    public var elementCount: Int { 3 * crop.width * crop.height }

    /// The normalized CHW float tensor for `image`.
    public func tensor(from image: RGBImage) -> [Float] {
        var out = [Float](repeating: 0, count: elementCount)
        out.withUnsafeMutableBufferPointer { write(image, into: $0) }
        return out
    }

    /// Writes the normalized CHW tensor for `image` into `buffer` (`elementCount` floats).
    public func write(_ image: RGBImage, into buffer: UnsafeMutableBufferPointer<Float>) {
        let scale = Double(resizeShorter) / Double(min(image.width, image.height))
        let w = max(crop.width, Int((Double(image.width) * scale).rounded(.toNearestOrEven)))
        let h = max(crop.height, Int((Double(image.height) * scale).rounded(.toNearestOrEven)))
        let left = (w - crop.width) / 2
        let top = (h - crop.height) / 2
        let cropped = Resampler.resize(image, width: w, height: h, crop: (left, top, crop.width, crop.height))
        let plane = crop.width * crop.height
        cropped.pixels.withUnsafeBufferPointer { px in
            for c in 0..<3 {
                let m = mean[c]
                let inv = 1 / std[c]
                let src = px.baseAddress! + c
                let dst = buffer.baseAddress! + c * plane
                for i in 0..<plane { dst[i] = (Float(src[i &* 3]) - m) * inv }  // &*: no overflow check, so it vectorizes
            }
        }
    }
}
