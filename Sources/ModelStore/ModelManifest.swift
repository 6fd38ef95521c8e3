import Foundation

/// A model's `model.json`: what the artifact is, where it comes from, and how to feed it.
///
/// ```swift
/// let manifest = try ModelManifest(contentsOf: URL(fileURLWithPath: "models/efficientnet-lite0/model.json"))
/// print(manifest.name, manifest.artifact.sha256)
/// ```
public struct ModelManifest: Codable, Sendable, Equatable {
    public struct Artifact: Codable, Sendable, Equatable {
        /// File name inside the model directory.
        public var file: String
        /// Lower-case hex SHA-256 of the file.
        public var sha256: String
        /// Where `model-fetch --manifest model.json` fetches it from (`s3://`, `https://`, `file://`,
        /// or `build://` for a local build). Absent in a store's manifest: the file sits beside it.
        public var source: String?
        /// Its size in bytes, when known (a store's manifest has it): a fetch stops at this many.
        public var size: Int64?
    }

    public struct TensorInfo: Codable, Sendable, Equatable {
        public var name: String
        /// Dimensions; -1 marks a dynamic one (the batch).
        public var shape: [Int]
        /// Open Inference Protocol datatype name (`FP32`, `INT64`, ...).
        public var datatype: String
    }

    public struct Preprocessing: Codable, Sendable, Equatable {
        public var color: String = "RGB"
        public var layout: String = "NCHW"
        /// Resize so the shorter side has this length before cropping.
        public var resizeShorter: Int
        public var resizeFilter: String = "bilinear-antialias"
        /// Center crop, width and height.
        public var crop: [Int]
        public var mean: [Float]
        public var std: [Float]

        enum CodingKeys: String, CodingKey {
            case color, layout, mean, std, crop
            case resizeShorter = "resize_shorter"
            case resizeFilter = "resize_filter"
        }
    }

    public var name: String
    public var version: String
    public var format: String
    public var description: String?
    public var artifact: Artifact
    public var input: TensorInfo
    public var output: TensorInfo
    /// Labels file (one class per line, in index order), relative to the model directory.
    public var labels: String?
    /// Lower-case hex SHA-256 of the labels file; a store's manifest always has it.
    public var labelsSHA256: String?
    public var preprocessing: Preprocessing?
    public var postprocessing: String?

    enum CodingKeys: String, CodingKey {
        case name, version, format, description, artifact, input, output, labels, preprocessing, postprocessing
        case labelsSHA256 = "labels_sha256"
    }

    public init(contentsOf url: URL) throws {
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw ModelStoreError.missing("manifest \(url.path)")
        }
        try self.init(data: data, origin: url.path)
    }

    /// Parses and checks a manifest's bytes; `origin` names it in errors (a path or a URI).
    public init(data: Data, origin: String) throws {
        do { self = try JSONDecoder().decode(ModelManifest.self, from: data) } catch {
            throw ModelStoreError.invalidManifest("\(origin): \(error)")
        }
        for (field, digest) in [("artifact.sha256", artifact.sha256), ("labels_sha256", labelsSHA256)] {
            if let digest, !SHA256File.isHexDigest(digest) {
                throw ModelStoreError.invalidManifest("\(origin): \(field) must be 64 hex digits")
            }
        }
        // Both are joined to a folder (on disk, or in a store): a path could name a file outside
        // it, and one name for two files (or for the manifest) would overwrite one with the other.
        for (field, file) in [("artifact.file", artifact.file), ("labels", labels)] {
            if let file, file.isEmpty || file.contains("/") || file.contains("\\") || file.hasPrefix(".") || file == "model.json" {
                throw ModelStoreError.invalidManifest("\(origin): \(field) must be a plain file name other than model.json")
            }
        }
        if labels == artifact.file { throw ModelStoreError.invalidManifest("\(origin): labels and artifact.file name the same file") }
        if let size = artifact.size, size < 0 { throw ModelStoreError.invalidManifest("\(origin): artifact.size must not be negative") }
    }
}

/// Problems with a model directory.
public enum ModelStoreError: Error, CustomStringConvertible, Equatable {
    case missing(String)
    case invalidManifest(String)
    case checksumMismatch(file: String, expected: String, actual: String)

    public var description: String {
        switch self {
        case .missing(let what): "missing \(what)"
        case .invalidManifest(let why): "invalid manifest: \(why)"
        case .checksumMismatch(let file, let expected, let actual):
            "checksum mismatch for \(file): expected sha256 \(expected), got \(actual)"
        }
    }
}
