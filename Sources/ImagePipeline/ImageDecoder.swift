import CSpng
import CTurboJPEG

/// Decodes JPEG (libjpeg-turbo) and PNG (libspng) into RGB — grayscale, palette, RGBA and CMYK
/// become RGB, and JPEGs are turned upright by their EXIF orientation — refusing oversized images
/// before decoding their pixels.
///
/// ```swift
/// let decoder = ImageDecoder(maxPixels: 40_000_000, maxAspectRatio: 20)
/// let (width, height) = try decoder.size(of: bytes)       // the header only: budget a request first
/// let image = try decoder.decode(bytes, minShorterSide: 256)
/// ```
public struct ImageDecoder: Sendable {
    /// The largest width × height accepted (a decompression-bomb guard).
    public var maxPixels: Int
    /// The longest side may be at most this many times the shortest. A 65000×1 strip is a few
    /// kilobytes of JPEG but resizes to a 16-million-pixel-wide row; no photo is shaped like that.
    public var maxAspectRatio: Int

    public init(maxPixels: Int = 40_000_000, maxAspectRatio: Int = 20) {
        self.maxPixels = maxPixels
        self.maxAspectRatio = maxAspectRatio
    }

    /// Width and height from the header alone, checked against the limits; no pixel is decoded.
    public func size(of data: [UInt8]) throws -> (width: Int, height: Int) {
        guard !data.isEmpty else { throw ImageError.empty }
        if data.starts(with: [0xFF, 0xD8, 0xFF]) {
            guard let handle = tjInitDecompress() else { throw ImageError.corrupt("cannot create a JPEG decoder") }
            defer { tjDestroy(handle) }
            return try jpegHeader(handle, data).size
        }
        if data.starts(with: [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]) {
            guard let ctx = spng_ctx_new(0) else { throw ImageError.corrupt("cannot create a PNG decoder") }
            defer { spng_ctx_free(ctx) }
            let ihdr = try pngHeader(ctx, data)
            return (Int(ihdr.width), Int(ihdr.height))
        }
        throw ImageError.unsupportedFormat
    }

    /// Decodes `data`. With `minShorterSide`, a large JPEG is scaled down in the DCT domain
    /// (by 1/2, 1/4 or 1/8) while its shorter side stays at least four times that long, so the
    /// antialiased resize that follows still sees enough detail.
    public func decode(_ data: [UInt8], minShorterSide: Int? = nil) throws -> RGBImage {
        guard !data.isEmpty else { throw ImageError.empty }
        if data.starts(with: [0xFF, 0xD8, 0xFF]) {
            return Orientation.apply(Orientation.exif(data), to: try decodeJPEG(data, minShorterSide: minShorterSide))
        }
        if data.starts(with: [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]) { return try decodePNG(data) }
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

    private func jpegHeader(_ handle: tjhandle, _ data: [UInt8]) throws -> (size: (Int, Int), colorspace: Int32) {
        var w: Int32 = 0, h: Int32 = 0, subsampling: Int32 = 0, colorspace: Int32 = 0
        guard tjDecompressHeader3(handle, data, UInt(data.count), &w, &h, &subsampling, &colorspace) == 0 else {
            throw ImageError.corrupt(String(cString: tjGetErrorStr2(handle)))
        }
        try checkSize(Int(w), Int(h))
        return ((Int(w), Int(h)), colorspace)
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

    private func decodeJPEG(_ data: [UInt8], minShorterSide: Int?) throws -> RGBImage {
        guard let handle = tjInitDecompress() else { throw ImageError.corrupt("cannot create a JPEG decoder") }
        defer { tjDestroy(handle) }
        let ((w, h), colorspace) = try jpegHeader(handle, data)
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
        var raw = [UInt8](repeating: 0, count: sw * sh * channels)
        let format = cmyk ? TJPF_CMYK : TJPF_RGB
        let status = tjDecompress2(handle, data, UInt(data.count), &raw, Int32(sw), 0, Int32(sh), format.rawValue, TJFLAG_STOPONWARNING | TJFLAG_LIMITSCANS)
        guard status == 0 else { throw ImageError.corrupt(String(cString: tjGetErrorStr2(handle))) }
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
        var out = [UInt8](repeating: 0, count: size)
        rc = spng_decode_image(ctx, &out, size, fmt, 0)
        guard rc == 0 else { throw fail(rc) }
        return RGBImage(width: Int(ihdr.width), height: Int(ihdr.height), pixels: out)
    }
}
