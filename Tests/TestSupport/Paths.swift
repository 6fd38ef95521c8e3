import Foundation

/// Where the tests find the repository's demo model, the data `make test-data` writes under
/// `.cache/`, and the built binaries.
///
/// ```swift
/// try #require(Paths.demoArtifactExists, "run `make model`")
/// let photo = try Data(contentsOf: Paths.image("coffee.jpg"))
/// ```
public enum Paths {
    public static let repoRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    public static let demoModel = repoRoot.appendingPathComponent("models/efficientnet-lite0")
    public static var demoArtifactExists: Bool { FileManager.default.fileExists(atPath: demoModel.appendingPathComponent("model.onnx").path) }
    public static var cache: URL { repoRoot.appendingPathComponent(".cache") }
    public static func image(_ name: String) -> URL { cache.appendingPathComponent("images/\(name)") }
    public static var imagesExist: Bool { FileManager.default.fileExists(atPath: image("coffee.jpg").path) }
    /// The Python of `.venv/` (test fixtures and references).
    public static var python: URL { repoRoot.appendingPathComponent(".venv/bin/python") }
    public static func fixture(_ name: String) -> URL { repoRoot.appendingPathComponent("Tests/Fixtures/\(name)") }
    /// A product of the debug build, e.g. `model-server`.
    public static func debugBinary(_ name: String) -> URL { repoRoot.appendingPathComponent(".build/debug/\(name)") }
}
