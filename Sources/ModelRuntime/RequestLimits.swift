/// What one prediction may cost the runtime, each bound checked before the work it bounds:
/// how many rows, how many pixels and how much decoding memory. Exceeding one throws
/// ``PredictionError/tooLarge(_:)`` (the aspect ratio: `ImageError.aspectRatio`), before any
/// image is decoded.
///
/// Every number a client controls is hostile; these keep one prediction's memory and CPU below
/// a budget that does not depend on how the request is shaped (docs/reliability.md measures each).
///
/// ```swift
/// var limits = RequestLimits()
/// limits.maxRows = 8            // at most 8 images (or tensor rows) per prediction
/// ```
public struct RequestLimits: Sendable {
    /// Images, instances or tensor rows in one prediction (`MAX_ROWS_PER_REQUEST`, 32). Larger
    /// inputs run as several batches of at most the batcher's `maxBatchSize` rows.
    public var maxRows = 32
    /// Width × height of one image (`MAX_IMAGE_PIXELS`, 40 M), from its header.
    public var maxImagePixels = 40_000_000
    /// Width × height summed over a prediction's images (`MAX_REQUEST_PIXELS`, 100 M), each
    /// pixel weighted by its decoding work (a 16-bit or alpha PNG pixel by its bytes over 3,
    /// interlaced PNG and progressive JPEG twice), from the headers before any image is decoded.
    /// It bounds a prediction's decoding CPU (about a second on these machines).
    public var maxRequestPixels = 100_000_000
    /// Memory one image may take while decoded (`MAX_DECODE_BYTES`, 128 MiB): its pixels, a turned
    /// copy, a CMYK buffer, a progressive JPEG's coefficients, estimated from the headers. Images
    /// decode on at most one thread per core, so this times the cores bounds decoding memory.
    public var maxDecodeBytes = 128 << 20
    /// Longest side over shortest side of an image (`MAX_IMAGE_ASPECT_RATIO`, 20).
    public var maxAspectRatio = 20

    public init() {}

    /// Refuses `rows` rows (images, instances) unless 1…`maxRows`, before any is processed.
    public func checkRows(_ rows: Int, _ what: String) throws {
        guard rows > 0 else { throw PredictionError.invalid("the request holds no \(what)") }
        guard rows <= maxRows else {
            throw PredictionError.tooLarge("the request holds \(rows) \(what), more than the limit of \(maxRows) (MAX_ROWS_PER_REQUEST)")
        }
    }
}
