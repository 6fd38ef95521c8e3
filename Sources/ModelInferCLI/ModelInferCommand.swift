import ArgumentParser

/// `model-infer`: the model without a server — classify image files through the same
/// ``Predictor`` the server uses, gate a candidate model against its reference on image files,
/// or time the engine for `bench/engine`. It depends on the
/// runtime and the engine only: no HTTP stack is linked in.
@main
struct ModelInferCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "model-infer",
        abstract: "Classify image files with a model, without a server.",
        subcommands: [Classify.self, Gate.self, EngineBench.self],
        defaultSubcommand: Classify.self
    )
}
