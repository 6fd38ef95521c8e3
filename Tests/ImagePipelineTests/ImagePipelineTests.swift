import Foundation
import Testing

@testable import ImagePipeline

/// The pipeline against Pillow: real photos written by Pillow, preprocessed by Pillow
/// (`Tests/Fixtures/images.py`), must give (nearly) the same normalized tensor.
@Suite("Image decoding and preprocessing")
struct ImagePipelineTests {
    static let images = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent(".cache/images")
    static let demo = Preprocessor(resizeShorter: 256, crop: (224, 224), mean: [127.5, 127.5, 127.5], std: [127.5, 127.5, 127.5])

    static let files = [
        "coffee.jpg", "camera.png", "rocket.jpg", "motorcycle.png", "astronaut_rgba.png",
        "chelsea_palette.png", "camera_gray.jpg", "hubble_large.jpg", "hubble_huge.jpg", "coffee_exif6.jpg", "chelsea_cmyk.jpg",
    ]

    @Test("matches Pillow's preprocessing", arguments: files)
    func matchesPillow(file: String) throws {
        let url = Self.images.appendingPathComponent(file)
        try #require(FileManager.default.fileExists(atPath: url.path), "test images are missing: run `make test-data`")
        let bytes = try [UInt8](Data(contentsOf: url))
        let image = try ImageDecoder().decode(bytes, minShorterSide: 256)
        let ours = Self.demo.tensor(from: image)
        let expectedData = try Data(contentsOf: url.deletingPathExtension().appendingPathExtension("f32"))
        let expected = expectedData.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
        #expect(ours.count == expected.count)
        let diffs = zip(ours, expected).map { abs($0 - $1) }
        let mean = diffs.reduce(0, +) / Float(diffs.count)
        // One 8-bit level is 1/127.5 ≈ 0.0078 here: below 1e-6, every resized pixel equals Pillow's
        // and only float rounding in the normalization differs. Files the decoder scales in the
        // DCT domain (libjpeg-turbo's scaled IDCT, not Pillow's full decode) differ more.
        let (maxAllowed, meanAllowed): (Float, Float) = file.hasPrefix("hubble_huge") ? (0.25, 0.02) : (1e-6, 2e-7)
        #expect(diffs.max()! <= maxAllowed, "\(file): max difference \(diffs.max()!)")
        #expect(mean <= meanAllowed, "\(file): mean difference \(mean)")
    }

    @Test func decodesDimensionsAndColor() throws {
        let url = Self.images.appendingPathComponent("camera.png")
        try #require(FileManager.default.fileExists(atPath: url.path), "test images are missing: run `make test-data`")
        let image = try ImageDecoder().decode([UInt8](Data(contentsOf: url)))
        #expect(image.width == 512 && image.height == 512)
        // Grayscale becomes R = G = B.
        #expect(image.pixels[300] == image.pixels[301] && image.pixels[301] == image.pixels[302])
    }

    @Test func rejectsBadInput() throws {
        #expect(throws: ImageError.empty) { try ImageDecoder().decode([]) }
        #expect(throws: ImageError.unsupportedFormat) { try ImageDecoder().decode(Array("GIF89a".utf8)) }
        let url = Self.images.appendingPathComponent("coffee.jpg")
        try #require(FileManager.default.fileExists(atPath: url.path), "test images are missing: run `make test-data`")
        let jpeg = try [UInt8](Data(contentsOf: url))
        #expect(throws: ImageError.self) { try ImageDecoder().decode(Array(jpeg.prefix(2000))) }
        #expect(throws: ImageError.tooLarge(width: 600, height: 400, limit: 1000)) { try ImageDecoder(maxPixels: 1000).decode(jpeg) }
    }

    @Test("limits are checked from the headers, before a pixel is decoded")
    func limitsFromHeaders() throws {
        let url = Self.images.appendingPathComponent("coffee.jpg")
        try #require(FileManager.default.fileExists(atPath: url.path), "test images are missing: run `make test-data`")
        let jpeg = try [UInt8](Data(contentsOf: url))
        // 600×400 RGB decodes to 720,000 bytes.
        #expect(throws: ImageError.decodeMemory(width: 600, height: 400, bytes: 720_000, limit: 500_000)) {
            try ImageDecoder(maxDecodeBytes: 500_000).decode(jpeg)
        }
        #expect(throws: ImageError.aspectRatio(width: 600, height: 400, limit: 1)) { try ImageDecoder(maxAspectRatio: 1).decode(jpeg) }
        let header = try ImageDecoder().header(of: jpeg)
        #expect(header.width == 600 && header.height == 400 && header.decodeWork == 240_000)
        #expect(ImageError.decodeMemory(width: 1, height: 1, bytes: 2, limit: 1).exceedsLimit && !ImageError.empty.exceedsLimit)
    }

    @Test("EXIF orientations turn a 3×2 image as Pillow's exif_transpose does (flips in place, transposes copied)")
    func orientations() {
        // Pixel i has value i in all three channels; (x, y) of the output names the input pixel.
        let (w, h) = (3, 2)
        let image = RGBImage(width: w, height: h, pixels: (0..<(w * h)).flatMap { [UInt8($0), UInt8($0), UInt8($0)] })
        let expected: [Int: (Int, Int, (Int, Int) -> (Int, Int))] = [
            2: (3, 2, { x, y in (w - 1 - x, y) }), 3: (3, 2, { x, y in (w - 1 - x, h - 1 - y) }), 4: (3, 2, { x, y in (x, h - 1 - y) }),
            5: (2, 3, { x, y in (y, x) }), 6: (2, 3, { x, y in (y, h - 1 - x) }), 7: (2, 3, { x, y in (w - 1 - y, h - 1 - x) }),
            8: (2, 3, { x, y in (w - 1 - y, x) }),
        ]
        for (o, (ow, oh, source)) in expected {
            let out = Orientation.apply(o, to: image)
            #expect(out.width == ow && out.height == oh, "orientation \(o)")
            for y in 0..<oh {
                for x in 0..<ow {
                    let (sx, sy) = source(x, y)
                    #expect(out.pixels[(y * ow + x) * 3] == UInt8(sy * w + sx), "orientation \(o) at (\(x), \(y))")
                }
            }
        }
        #expect(Orientation.apply(1, to: image) == image)
    }
}
