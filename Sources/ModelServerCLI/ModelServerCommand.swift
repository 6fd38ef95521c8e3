import ArgumentParser
import Foundation
import ImagePipeline
import Logging
import ModelEngine
import ModelGRPC
import ModelRuntime
import ModelServer

/// `model-server`: serve a model over HTTP (`model-infer` classifies files without a server).
@main
struct ModelServerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "model-server",
        abstract: "Serve an ONNX image classifier over HTTP (Flask-compatible and Open Inference Protocol). To classify files offline, use model-infer.",
        version: ServerInfo.version,
        subcommands: [Serve.self, Probe.self],
        defaultSubcommand: Serve.self
    )
}

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run the HTTP service (environment: HOST, PORT, MODEL_DIR, LOG_LEVEL, ...).")

    @Option(help: "Address to bind (env HOST, default 0.0.0.0).") var host: String?
    @Option(help: "Port (env PORT, default 8080).") var port: Int?
    @Option(name: .customLong("model-dir"), help: "Model folder with model.json (env MODEL_DIR).") var modelDir: String?
    @Option(help: "trace, debug, info, notice, warning, error, critical (env LOG_LEVEL, default info).") var logLevel: String?

    func run() async throws {
        OpenMPLaunch.ensureThreadCount(shortSpin: true)
        let env = ProcessInfo.processInfo.environment
        var config = try ServerConfiguration(environment: env)
        // Bodies, decoded images and tensors go back to the system when freed; a heap keeps up to
        // 4 MiB free at its top for the next request.
        Allocator.mapSeparately(atLeast: 256 << 10)
        Allocator.setTrimThreshold(4 << 20)
        ImageDecoder.capLibjpegMemory(config.limits.maxDecodeBytes)
        if let host { config.host = host }
        if let port { config.port = port }
        if let modelDir { config.modelDirectory = URL(fileURLWithPath: modelDir) }
        let logger = makeLogger(level: logLevel ?? env["LOG_LEVEL"])
        logger.info(
            "starting",
            metadata: [
                "version": "\(ServerInfo.version)", "address": "\(config.host):\(config.port)",
                "grpc_port": "\(config.grpcPort.map(String.init) ?? "off")", "model_dir": "\(config.modelDirectory.path)", "omp_threads": "\(Threads.openMP)",
            ]
        )
        let server = ModelServer(configuration: config, logger: logger)
        try await server.run(alongside: config.grpcPort.map { [GRPCService(server: server, port: $0, logger: logger)] } ?? [])
    }
}

func makeLogger(level: String?) -> Logger {
    LoggingSystem.bootstrap { StreamLogHandler.standardError(label: $0) }
    var logger = Logger(label: ServerInfo.name)
    logger.logLevel = level.flatMap { Logger.Level(rawValue: $0.lowercased()) } ?? .info
    return logger
}
