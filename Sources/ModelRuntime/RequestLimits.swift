/// What one prediction request may cost, each bound checked before the work it bounds.
///
/// Every number a client controls (body size, image count and dimensions, tensor shape, JSON
/// size) is hostile; these settings keep one request's memory and CPU below a budget that does
/// not depend on how the request is shaped (docs/reliability.md measures each).
///
/// ```swift
/// var limits = RequestLimits()
/// limits.maxRows = 8            // at most 8 images (or tensor rows) per request
/// ```
public struct RequestLimits: Sendable {
    /// Largest request body (`MAX_BODY_BYTES`, 16 MiB); 413 above it.
    public var maxBodyBytes = 16 << 20
    /// The whole body must arrive within this many seconds of the request's headers
    /// (`BODY_TIMEOUT_SECONDS`, 30); 408 otherwise. Bodies are read before a request takes
    /// one of the `MAX_ACTIVE_REQUESTS` slots, so slow uploads do not stall other requests.
    public var bodyTimeoutSeconds: Double = 30
    /// Images, instances or tensor rows in one request (`MAX_ROWS_PER_REQUEST`, 32); 413 above.
    /// Larger requests run as several batches of at most `MAX_BATCH_SIZE` rows.
    public var maxRows = 32
    /// Width × height of one image (`MAX_IMAGE_PIXELS`, 40 M); 413 above, from the header alone.
    public var maxImagePixels = 40_000_000
    /// Width × height summed over a request's images (`MAX_REQUEST_PIXELS`, 100 M), each pixel
    /// weighted by its decoding work (a 16-bit or alpha PNG pixel by its bytes over 3, interlaced
    /// PNG and progressive JPEG twice); 413 above, checked on the headers before any image is
    /// decoded. It bounds a request's decoding CPU (about a second on these machines).
    public var maxRequestPixels = 100_000_000
    /// Memory one image may take while decoded (`MAX_DECODE_BYTES`, 128 MiB): its pixels, a turned
    /// copy, a CMYK buffer, a progressive JPEG's coefficients; 413 above, estimated from the
    /// headers. Images decode on at most one thread per core, so this times the cores bounds
    /// decoding memory for the whole server.
    public var maxDecodeBytes = 128 << 20
    /// Longest side over shortest side of an image (`MAX_IMAGE_ASPECT_RATIO`, 20); 400 above.
    public var maxAspectRatio = 20
    /// Values in a JSON body, an array counting as 6 and an object as 40 (what they cost to parse
    /// relative to a number) (`MAX_JSON_VALUES`, 1 M); 413 above, counted before parsing. A
    /// number costs ~75 bytes parsed, so this bounds a body's parse to ~75 MB; larger tensors go
    /// in the binary tensor extension, 4 bytes per FP32.
    public var maxJSONValues = 1_000_000
    /// How deep JSON arrays and objects may nest (32); 400 deeper.
    public var maxJSONDepth = 32

    public init() {}
}
