/// An 8-bit RGB image, pixels interleaved row by row.
public struct RGBImage: Sendable, Equatable {
    public var width: Int
    public var height: Int
    /// `width * height * 3` bytes, R G B per pixel.
    public var pixels: [UInt8]

    public init(width: Int, height: Int, pixels: [UInt8]) {
        precondition(pixels.count == width * height * 3, "pixel buffer does not match \(width)×\(height)")
        self.width = width
        self.height = height
        self.pixels = pixels
    }
}

/// Why an image could not be decoded. Every case describes bad input, not a server fault.
public enum ImageError: Error, Sendable, Equatable, CustomStringConvertible {
    case empty
    case unsupportedFormat
    case corrupt(String)
    /// Width × height exceeds the configured limit (checked before any pixel is decoded).
    case tooLarge(width: Int, height: Int, limit: Int)
    /// The longer side is more than `limit` times the shorter (checked before decoding).
    case aspectRatio(width: Int, height: Int, limit: Int)
    /// Decoding would take more than `limit` bytes: `bytes` as estimated from the headers before
    /// decoding, or nil when libjpeg reached its own cap (`JPEGMEM`) while decoding.
    case decodeMemory(width: Int, height: Int, bytes: Int?, limit: Int)

    /// The image is well formed but exceeds a limit, rather than being bad input.
    public var exceedsLimit: Bool {
        switch self {
        case .tooLarge, .decodeMemory: true
        default: false
        }
    }

    public var description: String {
        switch self {
        case .empty: "the image is empty"
        case .unsupportedFormat: "not a JPEG or PNG image"
        case .corrupt(let why): "the image is corrupt or truncated: \(why)"
        case .tooLarge(let w, let h, let limit): "the image is \(w)×\(h) pixels, more than the limit of \(limit)"
        case .aspectRatio(let w, let h, let limit): "the image is \(w)×\(h) pixels: one side is more than \(limit) times the other"
        case .decodeMemory(let w, let h, let bytes?, let limit):
            "decoding this \(w)×\(h) image would take \(bytes / 1_000_000) MB, more than the limit of \(limit / 1_000_000) MB"
        case .decodeMemory(let w, let h, nil, _):
            "decoding this \(w)×\(h) image needs more memory than the decoder is allowed (JPEGMEM)"
        }
    }
}
