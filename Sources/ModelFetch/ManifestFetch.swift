import Foundation
import ModelStore

extension Fetcher {
    /// Fetches the artifact a model manifest names into `destination` (default: the manifest's
    /// folder) and copies the manifest and labels beside it, so the folder can be served.
    public func fetch(manifest url: URL, destination: URL?) throws -> Summary {
        let manifest: ModelManifest
        do { manifest = try ModelManifest(contentsOf: url) } catch { throw FetchError.usage("\(error)") }
        guard let source = manifest.artifact.source, !source.hasPrefix("build://") else {
            throw FetchError.usage("\(url.path): artifact.source is a local build (\(manifest.artifact.source ?? "none")), nothing to fetch")
        }
        let folder = url.deletingLastPathComponent()
        let dest = destination ?? folder
        let summary = try fetch(uri: source, sha256: manifest.artifact.sha256, to: dest.appendingPathComponent(manifest.artifact.file))
        if dest.standardizedFileURL != folder.standardizedFileURL {
            for file in ["model.json", manifest.labels].compactMap({ $0 }) {
                let target = dest.appendingPathComponent(file)
                try? FileManager.default.removeItem(at: target)
                try FileManager.default.copyItem(at: folder.appendingPathComponent(file), to: target)
            }
        }
        return summary
    }
}
