import ArgumentParser
import Foundation
import ImagePipeline
import Logging
import ModelEngine
import ModelRuntime
import ModelServer

/// `model-server`: serve a model over HTTP, or classify images from the command line.
@main
struct ModelServerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "model-server",
        abstract: "Serve an ONNX image classifier over HTTP (Flask-compatible and Open Inference Protocol).",
        version: ServerInfo.version,
        subcommands: [Serve.self, Infer.self, Probe.self, EngineBench.self],
        defaultSubcommand: Serve.self
    )

    static func main() async {
        OpenMPLaunch.ensureThreadCount()
        do {
            var command = try parseAsRoot()
            if var command = command as? AsyncParsableCommand {
                try await command.run()
            } else {
                try command.run()
            }
        } catch {
            exit(withError: error)
        }
    }
}

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run the HTTP service (environment: HOST, PORT, MODEL_DIR, LOG_LEVEL, ...).")

    @Option(help: "Address to bind (env HOST, default 0.0.0.0).") var host: String?
    @Option(help: "Port (env PORT, default 8080).") var port: Int?
    @Option(name: .customLong("model-dir"), help: "Model folder with model.json (env MODEL_DIR).") var modelDir: String?
    @Option(help: "trace, debug, info, notice, warning, error (env LOG_LEVEL, default info).") var logLevel: String?

    func run() async throws {
        let env = ProcessInfo.processInfo.environment
        var config = try ServerConfiguration(environment: env)
        // Bodies, decoded images and tensors go back to the system when freed.
        Allocator.mapSeparately(atLeast: 256 << 10)
        ImageDecoder.capLibjpegMemory(config.limits.maxDecodeBytes)
        if let host { config.host = host }
        if let port { config.port = port }
        if let modelDir { config.modelDirectory = URL(fileURLWithPath: modelDir) }
        let logger = makeLogger(level: logLevel ?? env["LOG_LEVEL"])
        logger.info(
            "starting",
            metadata: [
                "version": "\(ServerInfo.version)", "address": "\(config.host):\(config.port)",
                "model_dir": "\(config.modelDirectory.path)", "omp_threads": "\(Threads.openMP)",
            ]
        )
        try await ModelServer(configuration: config, logger: logger).run()
    }
}

func makeLogger(level: String?) -> Logger {
    LoggingSystem.bootstrap { StreamLogHandler.standardError(label: $0) }
    var logger = Logger(label: ServerInfo.name)
    logger.logLevel = level.flatMap { Logger.Level(rawValue: $0.lowercased()) } ?? .info
    return logger
}

/// OpenMP reads its settings only when the process starts. Unless given, set them here and
/// re-execute this binary once, before any OpenMP code runs:
/// - `OMP_NUM_THREADS` from the container's CPU quota;
/// - `OMP_WAIT_POLICY=PASSIVE` (unless it or `GOMP_SPINCOUNT` is set): idle OpenMP threads sleep
///   instead of spinning. In the server the
///   same cores also decode images and serve HTTP; spinning threads starve them (measured: ~20%
///   more requests/s with passive waiting, docs/reliability.md). `engine-bench` keeps
///   OpenMP's default, as a pure inference loop.
enum OpenMPLaunch {
    static func ensureThreadCount() {
        let env = ProcessInfo.processInfo.environment
        var changed = false
        if env["OMP_NUM_THREADS"] == nil {
            setenv("OMP_NUM_THREADS", String(Threads.recommended()), 1)
            changed = true
        }
        if env["OMP_WAIT_POLICY"] == nil && env["GOMP_SPINCOUNT"] == nil && CommandLine.arguments.dropFirst().first != "engine-bench" {
            setenv("OMP_WAIT_POLICY", "PASSIVE", 1)
            changed = true
        }
        guard changed else { return }
        var args = CommandLine.arguments.map { strdup($0) }
        args.append(nil)
        execv("/proc/self/exe", &args)
        // execv returned: carry on in this process with OpenMP's own defaults.
    }
}
