import ArgumentParser
import Foundation
import ModelFetch

/// `model-fetch`: the build-time downloader. Exit codes: 0 ok, 2 usage, 3 credentials (401/403),
/// 4 not found (404), 5 checksum mismatch or SHA256SUMS mismatch, 6 disk full, 7 transfer failed
/// after retries, 8 bad archive.
@main
struct ModelFetchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "model-fetch",
        abstract: "Download a model artifact from S3, Azure Blob, HTTPS or a file, verified by SHA-256.",
        discussion: """
            Examples:
              model-fetch --manifest s3://store/models/resnet/latest --dest /models/model
              model-fetch --manifest s3://store/models/resnet/latest --resolve
              model-fetch --manifest models/resnet/model.json --dest /models/resnet
              model-fetch s3://bucket/resnet.onnx --sha256 HEX --output /models/r.onnx
              model-fetch https://ACCOUNT.blob.core.windows.net/models/resnet/ \\
                --output /models/resnet/

            A manifest in a store (s3://, an Azure Blob URL, https:// or file://) is a
            release: either a NAME/latest pointer, resolved to the version it names, or a
            NAME/VERSION/model.json. Every file the manifest names is fetched and verified
            against its digests (the pointer's digest verifies the manifest); nothing is
            left behind unless all verify. --resolve prints the release as JSON and
            fetches nothing; --expect-sha256 fails (exit 5) unless the release's artifact
            has that digest, before downloading it.

            A prefix (a URI ending in /) must hold a SHA256SUMS object in sha256sum's
            format ("<hex>  <name>" per line; at most 1 MiB and 10,000 files). Every
            other object under the prefix must be listed there and match its digest,
            and every listed file must be present, or nothing is written.
            --allow-unverified-prefix fetches a prefix without SHA256SUMS, unverified
            (with a warning); never use it for anything that will be served.

            Credentials come from the environment (AWS_ACCESS_KEY_ID,
            AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, AWS_REGION, AWS_ENDPOINT_URL;
            AZURE_STORAGE_SAS_TOKEN, AZURE_STORAGE_ACCOUNT, AZURE_STORAGE_KEY,
            AZURE_STORAGE_CONNECTION_STRING; MODEL_FETCH_BEARER_TOKEN,
            MODEL_FETCH_HEADER) and never appear in any output.

            Exit codes: 2 usage, 3 credentials, 4 not found, 5 checksum mismatch (or
            objects not matching SHA256SUMS), 6 disk full, 7 transfer failed after
            retries (or a listing that never ends), 8 bad archive.
            """
    )

    @Argument(help: "s3://, https:// or file:// URI; a trailing / fetches every object under the prefix.")
    var uri: String?
    @Option(
        help: """
            A model manifest: in a store (s3://…/NAME/latest, …/NAME/VERSION/model.json), fetch the files it names; \
            a local model.json: fetch its artifact.source.
            """
    )
    var manifest: String?
    @Option(help: "With --manifest: the folder to fetch into (default for a local manifest: its folder).")
    var dest: String?
    @Option(help: "With a store manifest: the artifact's expected SHA-256 (a pin); fails if the store now holds another.")
    var expectSha256: String?
    @Flag(help: "With a store manifest: print the release it resolves to as JSON, fetch nothing.")
    var resolve = false
    @Option(help: "Expected SHA-256 of the object (hex).")
    var sha256: String?
    @Option(help: "Output file (or folder, for a prefix).")
    var output: String?
    @Flag(help: "Unpack a .tar.gz/.tgz into the output's folder, or inflate a .gz beside it.")
    var extract = false
    @Flag(help: "Only errors and the final summary.")
    var quiet = false
    @Flag(help: "UNSAFE: fetch a prefix that has no SHA256SUMS, without verifying its objects (prints a warning).")
    var allowUnverifiedPrefix = false

    /// A manifest given as a URI is in a store; a path is a local model.json.
    var storeManifest: String? { manifest.flatMap { $0.contains("://") ? $0 : nil } }

    func validate() throws {
        if manifest == nil && uri == nil { throw ValidationError("give a URI or --manifest") }
        if manifest != nil && uri != nil { throw ValidationError("give a URI or --manifest, not both") }
        if (resolve || expectSha256 != nil) && storeManifest == nil {
            throw ValidationError("--resolve and --expect-sha256 apply to a manifest in a store (a URI)")
        }
        if storeManifest != nil && !resolve && dest == nil { throw ValidationError("--dest is required with a manifest in a store") }
        if let pin = expectSha256, pin.count != 64 || !pin.allSatisfy(\.isHexDigit) {
            throw ValidationError("--expect-sha256 must be 64 hex digits")
        }
        if let uri, !uri.hasSuffix("/"), output == nil { throw ValidationError("--output is required with a URI") }
        if let uri, !uri.hasSuffix("/"), sha256 == nil {
            throw ValidationError("--sha256 is required: an artifact is never accepted unverified")
        }
        if let sha256, sha256.count != 64 || !sha256.allSatisfy(\.isHexDigit) { throw ValidationError("--sha256 must be 64 hex digits") }
        if allowUnverifiedPrefix && !(uri?.hasSuffix("/") ?? false) {
            throw ValidationError("--allow-unverified-prefix applies only to a prefix (a URI ending in /)")
        }
    }

    func run() throws {
        let fetcher = Fetcher(environment: ProcessInfo.processInfo.environment, progress: DownloadProgress(quiet: quiet))
        do {
            if let store = storeManifest, resolve {
                let release = try fetcher.resolve(manifest: store, expecting: expectSha256)
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
                print(String(decoding: try encoder.encode(release), as: UTF8.self))
            } else if let store = storeManifest, let dest {
                let release = try fetcher.fetchRelease(manifest: store, into: URL(fileURLWithPath: dest), expecting: expectSha256)
                print("release \(release.name) \(release.version): sha256 \(release.sha256), manifest \(release.manifest) (sha256 \(release.manifestSHA256)) in \(dest)")
            } else if let manifest {
                _ = try fetcher.fetch(manifest: URL(fileURLWithPath: manifest), destination: dest.map { URL(fileURLWithPath: $0) })
            } else if let uri, uri.hasSuffix("/") {
                let dir = URL(fileURLWithPath: output ?? ".")
                let files = try fetcher.fetchPrefix(uri: uri, to: dir, allowUnverified: allowUnverifiedPrefix)
                print("fetched \(files.count) objects into \(dir.path)")
            } else if let uri, let output, let sha256 {
                let out = URL(fileURLWithPath: output)
                _ = try fetcher.fetch(uri: uri, sha256: sha256, to: out)
                if extract { try unpack(out) }
            }
        } catch let e as FetchError {
            FileHandle.standardError.write(Data("model-fetch: error: \(e)\n".utf8))
            throw ExitCode(e.exitCode)
        }
    }

    func unpack(_ file: URL) throws {
        let name = file.lastPathComponent
        if name.hasSuffix(".tar.gz") || name.hasSuffix(".tgz") {
            let files = try Archive.untar(file, into: file.deletingLastPathComponent())
            print("unpacked \(files.count) files from \(name)")
        } else if name.hasSuffix(".gz") {
            try Archive.gunzip(file, to: file.deletingPathExtension())
            print("inflated \(name) to \(file.deletingPathExtension().lastPathComponent)")
        } else {
            throw FetchError.usage("--extract: \(name) is not .gz, .tar.gz or .tgz")
        }
    }
}
