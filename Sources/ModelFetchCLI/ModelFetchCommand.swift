import ArgumentParser
import Foundation
import ModelFetch
import ModelStore

/// `model-fetch`: the build-time downloader. Exit codes: 0 ok, 2 usage, 3 credentials (401/403),
/// 4 not found (404), 5 a checksum, SHA256SUMS or release that does not verify (or a pin the store
/// no longer matches), 6 disk full, 7 transfer failed after retries, 8 bad archive.
@main
struct ModelFetchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "model-fetch",
        abstract: "Download a model from S3, Azure Blob, HTTPS or a file, verified by SHA-256.",
        discussion: """
            Examples:
              model-fetch --release s3://store/models/resnet/latest --dest /models/model
              model-fetch --release s3://store/models/resnet/latest --resolve
              model-fetch --release s3://store/models/resnet/3/model.json \\
                --expect-manifest-sha256 HEX --dest /models/model
              model-fetch --manifest models/resnet/model.json --dest /models/resnet
              model-fetch s3://bucket/resnet.onnx --sha256 HEX --output /models/r.onnx
              model-fetch https://ACCOUNT.blob.core.windows.net/models/resnet/ \\
                --output /models/resnet/

            A release is a model version in a store (s3://, an Azure Blob URL, https://
            or file://): a NAME/latest pointer, resolved to the version it names, or a
            NAME/VERSION/model.json. Every file its manifest names is fetched and verified
            against the manifest's digests (the pointer's digest verifies the manifest);
            nothing is left behind unless all verify. --resolve prints the release as JSON
            and fetches nothing. --expect-manifest-sha256 (the whole release) and
            --expect-sha256 (its artifact) are pins: a store that now holds something else
            fails (exit 5) before the artifact is downloaded.

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

            Exit codes: 2 usage, 3 credentials, 4 not found, 5 does not verify (a
            checksum, SHA256SUMS, a release, or a pin the store no longer matches),
            6 disk full, 7 transfer failed after retries (or a listing that never
            ends), 8 bad archive.
            """
    )

    @Argument(help: "s3://, https:// or file:// URI; a trailing / fetches every object under the prefix.")
    var uri: String?
    @Option(help: "A release in a store: …/NAME/latest or …/NAME/VERSION/model.json. Fetches every file its manifest names.")
    var release: String?
    @Option(help: "A local model.json: fetch its artifact.source and verify artifact.sha256.")
    var manifest: String?
    @Option(help: "With --release or --manifest: the folder to fetch into (default for --manifest: its folder).")
    var dest: String?
    @Option(help: "With --release: the manifest's expected SHA-256 (pins the whole release).")
    var expectManifestSha256: String?
    @Option(help: "With --release: the artifact's expected SHA-256 (pins the model file).")
    var expectSha256: String?
    @Flag(help: "With --release: print the release it resolves to as JSON, fetch nothing.")
    var resolve = false
    @Option(help: "With a URI: expected SHA-256 of the object (hex).")
    var sha256: String?
    @Option(help: "With a URI: output file (or folder, for a prefix).")
    var output: String?
    @Flag(help: "With a URI: unpack a .tar.gz/.tgz into the output's folder, or inflate a .gz beside it.")
    var extract = false
    @Flag(help: "Only errors and the final summary.")
    var quiet = false
    @Flag(help: "UNSAFE: fetch a prefix that has no SHA256SUMS, without verifying its objects (prints a warning).")
    var allowUnverifiedPrefix = false

    func validate() throws {
        guard [uri, release, manifest].compactMap({ $0 }).count == 1 else { throw ValidationError("give exactly one of a URI, --release or --manifest") }
        if let manifest, manifest.contains("://") { throw ValidationError("--manifest is a local model.json; for a store use --release \(manifest)") }
        // An option that would be ignored is refused: `--sha256` beside `--release` must not look like a pin.
        if uri == nil, sha256 != nil || output != nil || extract || allowUnverifiedPrefix {
            throw ValidationError("--sha256, --output, --extract and --allow-unverified-prefix go with a URI")
        }
        if release == nil, resolve || expectSha256 != nil || expectManifestSha256 != nil {
            throw ValidationError("--resolve, --expect-sha256 and --expect-manifest-sha256 go with --release")
        }
        if release != nil && resolve == (dest != nil) { throw ValidationError("--release needs --dest, or --resolve (without --dest)") }
        if uri != nil && dest != nil { throw ValidationError("--dest goes with --release or --manifest; with a URI use --output") }
        for (name, value) in [("--expect-sha256", expectSha256), ("--expect-manifest-sha256", expectManifestSha256), ("--sha256", sha256)] {
            if let value, !SHA256File.isHexDigest(value) { throw ValidationError("\(name) must be 64 hex digits") }
        }
        if let uri, !uri.hasSuffix("/"), output == nil { throw ValidationError("--output is required with a URI") }
        if let uri, !uri.hasSuffix("/"), sha256 == nil {
            throw ValidationError("--sha256 is required: an artifact is never accepted unverified")
        }
        if allowUnverifiedPrefix && !(uri?.hasSuffix("/") ?? false) {
            throw ValidationError("--allow-unverified-prefix applies only to a prefix (a URI ending in /)")
        }
    }

    func run() throws {
        let fetcher = Fetcher(environment: ProcessInfo.processInfo.environment, progress: DownloadProgress(quiet: quiet))
        let pin = ReleasePin(sha256: expectSha256, manifestSHA256: expectManifestSha256)
        do {
            if let release, resolve {
                let resolved = try fetcher.resolve(release: release, pin: pin)
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
                print(String(decoding: try encoder.encode(resolved), as: UTF8.self))
            } else if let release, let dest {
                let r = try fetcher.fetch(release: release, into: URL(fileURLWithPath: dest), pin: pin)
                print("release \(r.name) \(r.version): sha256 \(r.sha256), manifest \(r.manifest) (sha256 \(r.manifestSHA256)) in \(dest)")
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
