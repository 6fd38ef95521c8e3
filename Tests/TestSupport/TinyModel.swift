import Foundation
import ModelEngine
import ModelRuntime

/// A model for in-process route tests, with no artifact and no fixtures to build: a manifest
/// for 3×8×8 RGB input and four classes, run by ``ChannelMeans`` in place of the ONNX engine.
/// Everything else — admission, decoding, the image pipeline, the batcher, post-processing — is
/// the server's own.
public enum TinyModel {
    public static let name = "tiny"
    public static let labels = ["red", "green", "blue", "bias"]

    /// 8×8 solid red, as a PNG; 8×8 solid blue, as a JPEG (both made with Pillow).
    public static let redPNG = [UInt8](Data(base64Encoded: "iVBORw0KGgoAAAANSUhEUgAAAAgAAAAICAIAAABLbSncAAAAEklEQVR4nGP8z4AdMOEQH6QSAM1BAQ/oQeJvAAAAAElFTkSuQmCC")!)
    public static let blueJPEG = [UInt8](
        Data(
            base64Encoded:
                "/9j/4AAQSkZJRgABAQAAAQABAAD/2wBDAAIBAQEBAQIBAQECAgICAgQDAgICAgUEBAMEBgUGBgYFBgYGBwkIBgcJBwYGCAsICQoKCgoKBggLDAsKDAkKCgr/2wBDAQICAgICAgUDAwUKBwYHCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgoKCgr/wAARCAAIAAgDASIAAhEBAxEB/8QAHwAAAQUBAQEBAQEAAAAAAAAAAAECAwQFBgcICQoL/8QAtRAAAgEDAwIEAwUFBAQAAAF9AQIDAAQRBRIhMUEGE1FhByJxFDKBkaEII0KxwRVS0fAkM2JyggkKFhcYGRolJicoKSo0NTY3ODk6Q0RFRkdISUpTVFVWV1hZWmNkZWZnaGlqc3R1dnd4eXqDhIWGh4iJipKTlJWWl5iZmqKjpKWmp6ipqrKztLW2t7i5usLDxMXGx8jJytLT1NXW19jZ2uHi4+Tl5ufo6erx8vP09fb3+Pn6/8QAHwEAAwEBAQEBAQEBAQAAAAAAAAECAwQFBgcICQoL/8QAtREAAgECBAQDBAcFBAQAAQJ3AAECAxEEBSExBhJBUQdhcRMiMoEIFEKRobHBCSMzUvAVYnLRChYkNOEl8RcYGRomJygpKjU2Nzg5OkNERUZHSElKU1RVVldYWVpjZGVmZ2hpanN0dXZ3eHl6goOEhYaHiImKkpOUlZaXmJmaoqOkpaanqKmqsrO0tba3uLm6wsPExcbHyMnK0tPU1dbX2Nna4uPk5ebn6Onq8vP09fb3+Pn6/9oADAMBAAIRAxEAPwD8c6KKK/38Pys//9k="
        )!
    )

    /// The model folder (model.json, labels.txt), written once per test process.
    public static let directory: URL = {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tiny-model-\(UUID().uuidString)")
        try! FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let manifest = """
            {"name": "tiny", "version": "3", "format": "onnx",
             "artifact": {"file": "none.onnx", "sha256": "\(String(repeating: "0", count: 64))", "source": "file:///none"},
             "input": {"name": "pixels", "shape": [-1, 3, 8, 8], "datatype": "FP32"},
             "output": {"name": "scores", "shape": [-1, 4], "datatype": "FP32"},
             "labels": "labels.txt",
             "preprocessing": {"color": "RGB", "layout": "NCHW", "resize_shorter": 8, "resize_filter": "bilinear-antialias",
                               "crop": [8, 8], "mean": [0, 0, 0], "std": [255, 255, 255]},
             "postprocessing": "softmax"}
            """
        try! Data(manifest.utf8).write(to: dir.appendingPathComponent("model.json"))
        try! Data(labels.joined(separator: "\n").utf8).write(to: dir.appendingPathComponent("labels.txt"))
        return dir
    }()
}

/// The stand-in engine: per row, the mean of each of the three channels, then a constant 0.25
/// ("bias"). A red image scores [1, 0, 0, 0.25] (pixels scaled to 0…1 by the manifest).
public struct ChannelMeans: InferenceEngine {
    public init() {}

    public func run(_ inputs: [String: Tensor]) throws -> [String: Tensor] {
        guard let x = inputs["pixels"], x.shape.count == 4, x.shape[1] == 3 else { throw ModelError.invalidInput("pixels [n, 3, h, w]") }
        let (rows, plane) = (x.shape[0], x.shape[2] * x.shape[3])
        let v = x.floats
        var out: [Float] = []
        for r in 0..<rows {
            for c in 0..<3 { out.append(v[(r * 3 + c) * plane..<(r * 3 + c + 1) * plane].reduce(0, +) / Float(plane)) }
            out.append(0.25)
        }
        return ["scores": Tensor(shape: [rows, 4], floats: out)]
    }
}

