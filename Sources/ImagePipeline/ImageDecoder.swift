import CSpng
import CTurboJPEG

#if canImport(Glibc)
import Glibc
#endif

/// What an image's header says, read without decoding a pixel.
public struct ImageHeader: Sendable, Equatable {
    public var width: Int
    public var height: Int
    /// Decoding work relative to a baseline 8-bit RGB pixel (≥ 1).
    public var workPerPixel: Double
    /// Pixels weighted by their decoding work: what a request's decoding budget is charged.
    public var decodeWork: Int { Int((Double(width) * Double(height) * workPerPixel).rounded(.up)) }
}

/// Decodes JPEG (libjpeg-turbo) and PNG (libspng) into RGB — grayscale, palette, RGBA and CMYK
/// become RGB, and JPEGs are turned upright by their EXIF orientation — refusing oversized images
/// before decoding their pixels.
///
/// ```swift
/// let decoder = ImageDecoder(maxPixels: 40_000_000, maxAspectRatio: 20, maxDecodeBytes: 128 << 20)
/// let header = try decoder.header(of: bytes)       // the header only: budget a request first
/// print(header.width, header.height, header.decodeWork)
/// let image = try decoder.decode(bytes, minShorterSide: 256)
/// ```
public struct ImageDecoder: Sendable {
    /// The largest width × height accepted (a decompression-bomb guard).
    public var maxPixels: Int
    /// The longest side may be at most this many times the shortest. A 65000×1 strip is a few
    /// kilobytes of JPEG but resizes to a 16-million-pixel-wide row; no photo is shaped like that.
    public var maxAspectRatio: Int
    /// The most memory one image may take while it is decoded: the decoded pixels, a turned
    /// copy for EXIF orientations 5–8, the CMYK buffer, and a progressive JPEG's whole-image DCT
    /// coefficients (2 bytes per sample, whatever the output scale). Estimated from the headers
    /// and refused before decoding; ``capLibjpegMemory(_:)`` caps what the estimate misses.
    public var maxDecodeBytes: Int

    public init(maxPixels: Int = 40_000_000, maxAspectRatio: Int = 20, maxDecodeBytes: Int = 128 << 20) {
        self.maxPixels = maxPixels
        self.maxAspectRatio = maxAspectRatio
        self.maxDecodeBytes = maxDecodeBytes
    }

    /// Caps libjpeg-turbo's large buffers for the whole process: libjpeg reads `JPEGMEM` (in
    /// units of 1000 bytes) whenever a decompressor is made, and fails a decode that would need
    /// more ("Backing store not supported") instead of allocating it. A safety net under the
    /// header estimate; call it once at start-up, before any decoding thread runs (the
    /// environment is not safe to change while other threads read it).
    public static func capLibjpegMemory(_ bytes: Int) {
        setenv("JPEGMEM", String(max(1, bytes / 1000)), 0)
    }

    /// Width and height from the header alone, checked against the limits; no pixel is decoded.
    public func header(of data: [UInt8]) throws -> ImageHeader {
        switch try Self.format(data) {
        case .jpeg:
            guard let handle = tjInitDecompress() else { throw ImageError.corrupt("cannot create a JPEG decoder") }
            defer { tjDestroy(handle) }
            let (w, h) = try jpegHeader(handle, data).size
            // Progressive JPEGs are decoded scan by scan through the whole image: about twice the work.
            return ImageHeader(width: w, height: h, workPerPixel: JPEGMarkers.frame(data)?.progressive == true ? 2 : 1)
        case .png:
            guard let ctx = spng_ctx_new(0) else { throw ImageError.corrupt("cannot create a PNG decoder") }
            defer { spng_ctx_free(ctx) }
            let ihdr = try pngHeader(ctx, data)
            // Inflating and converting cost by the source's bytes: a 16-bit RGBA pixel is 8 bytes,
            // 2.7 times an 8-bit RGB one; Adam7 interlacing about doubles it (measured: 32 such
            // 3 MP images took 3.6 s of CPU when counted as plain pixels).
            let channels = [0: 1, 2: 3, 3: 1, 4: 2, 6: 4][Int(ihdr.color_type)] ?? 4
            let bytes = Double(channels * Int(ihdr.bit_depth)) / 8
            let work = max(1, bytes / 3) * (ihdr.interlace_method != 0 ? 2 : 1)
            return ImageHeader(width: Int(ihdr.width), height: Int(ihdr.height), workPerPixel: work)
        }
    }

    /// Decodes `data`. With `minShorterSide`, a large JPEG is scaled down in the DCT domain
    /// (by 1/2, 1/4 or 1/8) while its shorter side stays at least four times that long, so the
    /// antialiased resize that follows still sees enough detail.
    public func decode(_ data: [UInt8], minShorterSide: Int? = nil) throws -> RGBImage {
        switch try Self.format(data) {
        case .jpeg:
            let orientation = Orientation.exif(data)
            return Orientation.apply(orientation, to: try decodeJPEG(data, minShorterSide: minShorterSide, orientation: orientation))
        case .png:
            return try decodePNG(data)
        }
    }

    private enum Format { case jpeg, png }

    /// The format by its signature; empty and other data refused.
    private static func format(_ data: [UInt8]) throws -> Format {
        guard !data.isEmpty else { throw ImageError.empty }
        if data.starts(with: [0xFF, 0xD8, 0xFF]) { return .jpeg }
        if data.starts(with: [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]) { return .png }
        throw ImageError.unsupportedFormat
    }

    private func checkSize(_ w: Int, _ h: Int) throws {
        guard w > 0, h > 0 else { throw ImageError.corrupt("zero width or height") }
        let (pixels, overflow) = w.multipliedReportingOverflow(by: h)
        guard !overflow, pixels <= maxPixels else { throw ImageError.tooLarge(width: w, height: h, limit: maxPixels) }
        guard Double(max(w, h)) <= Double(maxAspectRatio) * Double(min(w, h)) else {
            throw ImageError.aspectRatio(width: w, height: h, limit: maxAspectRatio)
        }
    }

    private func jpegHeader(_ handle: tjhandle, _ data: [UInt8]) throws -> (size: (Int, Int), colorspace: Int32, subsampling: Int32) {
        var w: Int32 = 0
        var h: Int32 = 0
        var subsampling: Int32 = 0
        var colorspace: Int32 = 0
        guard tjDecompressHeader3(handle, data, UInt(data.count), &w, &h, &subsampling, &colorspace) == 0 else {
            throw ImageError.corrupt(String(cString: tjGetErrorStr2(handle)))
        }
        try checkSize(Int(w), Int(h))
        return ((Int(w), Int(h)), colorspace, subsampling)
    }

    private func pngHeader(_ ctx: OpaquePointer, _ data: [UInt8]) throws -> spng_ihdr {
        // Ancillary chunks are capped (16 MiB each, 64 MiB in all) so a text or ICC chunk cannot
        // make the decoder allocate without bound.
        spng_set_chunk_limits(ctx, 16 << 20, 64 << 20)
        var rc = data.withUnsafeBytes { spng_set_png_buffer(ctx, $0.baseAddress, $0.count) }
        guard rc == 0 else { throw ImageError.corrupt(String(cString: spng_strerror(rc))) }
        var ihdr = spng_ihdr()
        rc = spng_get_ihdr(ctx, &ihdr)
        guard rc == 0 else { throw ImageError.corrupt(String(cString: spng_strerror(rc))) }
        try checkSize(Int(ihdr.width), Int(ihdr.height))
        return ihdr
    }

    /// Refuses an image whose decoding would take more than `maxDecodeBytes`.
    private func checkMemory(_ bytes: Int, width: Int, height: Int) throws {
        guard bytes <= maxDecodeBytes else { throw ImageError.decodeMemory(width: width, height: height, bytes: bytes, limit: maxDecodeBytes) }
    }

    private func decodeJPEG(_ data: [UInt8], minShorterSide: Int?, orientation: Int) throws -> RGBImage {
        guard let handle = tjInitDecompress() else { throw ImageError.corrupt("cannot create a JPEG decoder") }
        defer { tjDestroy(handle) }
        let ((w, h), colorspace, subsampling) = try jpegHeader(handle, data)
        var (sw, sh) = (w, h)
        if let target = minShorterSide {
            for denom in [8, 4, 2] {
                let (cw, ch) = ((sw + denom - 1) / denom, (sh + denom - 1) / denom)
                if min(cw, ch) >= target * 4 {
                    (sw, sh) = (cw, ch)
                    break
                }
            }
        }
        let cmyk = colorspace == Int32(TJCS_CMYK.rawValue) || colorspace == Int32(TJCS_YCCK.rawValue)
        let channels = cmyk ? 4 : 3
        // A progressive frame's coefficients: 2 bytes per sample, the chroma planes subsampled.
        let frame = JPEGMarkers.frame(data)
        let samplesPerPixel: Double =
            switch (frame?.components ?? 3, subsampling) {
            case (1, _), (_, Int32(TJSAMP_GRAY.rawValue)): 1
            case (3, Int32(TJSAMP_420.rawValue)), (3, Int32(TJSAMP_411.rawValue)): 1.5
            case (3, Int32(TJSAMP_422.rawValue)), (3, Int32(TJSAMP_440.rawValue)): 2
            case (let n, _): Double(max(n, 1))
            }
        let coefficients = frame?.progressive == true ? Int(Double(w * h) * samplesPerPixel) * 2 : 0
        try checkMemory(sw * sh * (cmyk ? 4 + 3 : 3) + (Orientation.needsCopy(orientation) ? sw * sh * 3 : 0) + coefficients, width: w, height: h)
        var raw = [UInt8](repeating: 0, count: sw * sh * channels)
        let format = cmyk ? TJPF_CMYK : TJPF_RGB
        let status = tjDecompress2(
            handle,
            data,
            UInt(data.count),
            &raw,
            Int32(sw),
            0,
            Int32(sh),
            format.rawValue,
            TJFLAG_STOPONWARNING | TJFLAG_LIMITSCANS
        )
        guard status == 0 else {
            let why = String(cString: tjGetErrorStr2(handle))
            // JPEGMEM's cap reached: a buffer our estimate did not foresee.
            if why.contains("Backing store") { throw ImageError.decodeMemory(width: w, height: h, bytes: nil, limit: maxDecodeBytes) }
            throw ImageError.corrupt(why)
        }
        if cmyk {
            // Adobe CMYK JPEGs store inverted values; PIL converts as R = 255 − C inverted·K.
            var rgb = [UInt8](repeating: 0, count: sw * sh * 3)
            for i in 0..<(sw * sh) {
                let k = Int(raw[i * 4 + 3])
                for c in 0..<3 { rgb[i * 3 + c] = UInt8(Int(raw[i * 4 + c]) * k / 255) }
            }
            raw = rgb
        }
        return RGBImage(width: sw, height: sh, pixels: raw)
    }

    private func decodePNG(_ data: [UInt8]) throws -> RGBImage {
        guard let ctx = spng_ctx_new(0) else { throw ImageError.corrupt("cannot create a PNG decoder") }
        defer { spng_ctx_free(ctx) }
        func fail(_ rc: Int32) -> ImageError { .corrupt(String(cString: spng_strerror(rc))) }
        let ihdr = try pngHeader(ctx, data)
        var size = 0
        let fmt = Int32(SPNG_FMT_RGB8.rawValue)
        var rc = spng_decoded_image_size(ctx, fmt, &size)
        guard rc == 0 else { throw fail(rc) }
        try checkMemory(size, width: Int(ihdr.width), height: Int(ihdr.height))
        var out = [UInt8](repeating: 0, count: size)
        rc = spng_decode_image(ctx, &out, size, fmt, 0)
        guard rc == 0 else { throw fail(rc) }
        return RGBImage(width: Int(ihdr.width), height: Int(ihdr.height), pixels: out)
    }
}
