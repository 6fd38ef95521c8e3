// libFuzzer target: untrusted bytes through the image decoders and the preprocessing that follows.
// Built and run by `make fuzz` (Fuzz/run, which sets MODEL_SERVER_FUZZ=1 so that Package.swift declares it).
import ImagePipeline

let decoder = ImageDecoder(maxPixels: 4_000_000)
let preprocessor = Preprocessor(resizeShorter: 256, crop: (224, 224), mean: [127.5, 127.5, 127.5], std: [127.5, 127.5, 127.5])

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzImage(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    // Errors are the expected answer to bad input; crashes, leaks and overflows are the bugs.
    guard let image = try? decoder.decode(bytes, minShorterSide: preprocessor.resizeShorter) else { return 0 }
    precondition(
        image.width > 0 && image.height > 0 && image.pixels.count == 3 * image.width * image.height,
        "decoder returned \(image.width)×\(image.height), \(image.pixels.count) bytes"
    )
    let tensor = preprocessor.tensor(from: image)
    precondition(tensor.allSatisfy { $0.isFinite && abs($0) <= 1.0001 }, "preprocessing produced values outside [-1, 1]")
    return 0
}
