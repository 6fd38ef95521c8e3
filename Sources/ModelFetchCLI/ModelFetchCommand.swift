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
              model-fetch --manifest models/resnet/model.json --dest /models/resnet
              model-fetch s3://bucket/resnet.onnx --sha256 HEX --output /models/r.onnx
              model-fetch https://ACCOUNT.blob.core.windows.net/models/resnet/ \\
                --output /models/resnet/

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
    @Option(help: "A model manifest (model.json): fetch its artifact.source and verify artifact.sha256.")
    var manifest: String?
    @Option(help: "With --manifest: the folder to fetch into (default: the manifest's folder).")
    var dest: String?
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

    func validate() throws {
        if manifest == nil && uri == nil { throw ValidationError("give a URI or --manifest") }
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
            if let manifest {
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
