/// What a request body may cost the HTTP layer, each bound checked before the work it bounds:
/// its size and arrival time, and the JSON parse it leads to.
///
/// ```swift
/// var body = BodyLimits()
/// body.maxBodyBytes = 4 << 20        // 413 above 4 MiB
/// ```
public struct BodyLimits: Sendable {
    /// Largest request body (`MAX_BODY_BYTES`, 16 MiB); 413 above it.
    public var maxBodyBytes = 16 << 20
    /// The whole body must arrive within this many seconds of the request's headers
    /// (`BODY_TIMEOUT_SECONDS`, 30); 408 otherwise. Bodies are read before a request takes
    /// one of the `MAX_ACTIVE_REQUESTS` slots, so slow uploads do not stall other requests.
    public var bodyTimeoutSeconds: Double = 30
    /// Values in a JSON body, an array counting 6, an object 40 and each key 3 more (what they
    /// cost to parse relative to a number) (`MAX_JSON_VALUES`, 1 M); 413 above, counted before
    /// parsing. A number costs ~75 bytes parsed, so this bounds a body's parse to ~75 MB; larger
    /// tensors go in the binary tensor extension, 4 bytes per FP32.
    public var maxJSONValues = 1_000_000
    /// How deep JSON arrays and objects may nest (32); 400 deeper.
    public var maxJSONDepth = 32

    public init() {}

    /// `MAX_BODY_BYTES`, `BODY_TIMEOUT_SECONDS`, `MAX_JSON_VALUES`.
    init(_ settings: Settings) throws {
        maxBodyBytes = try settings.int("MAX_BODY_BYTES", maxBodyBytes, 1...(1 << 30))
        bodyTimeoutSeconds = try settings.seconds("BODY_TIMEOUT_SECONDS", bodyTimeoutSeconds)
        maxJSONValues = try settings.int("MAX_JSON_VALUES", maxJSONValues, 1...100_000_000)
    }
}
