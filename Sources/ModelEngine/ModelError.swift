/// Why a model could not be loaded or run.
public enum ModelError: Error, CustomStringConvertible, Equatable {
    /// The file is not a valid ONNX model.
    case invalidModel(String)
    /// One or more nodes use operators or attributes this engine does not implement.
    case unsupported([UnsupportedNode])
    /// The inputs given to ``Model/run(_:)`` do not fit the model.
    case invalidInput(String)
    /// A kernel failed while planning or running.
    case execution(String)

    public var description: String {
        switch self {
        case .invalidModel(let why): "invalid model: \(why)"
        case .invalidInput(let why): "invalid input: \(why)"
        case .execution(let why): "execution failed: \(why)"
        case .unsupported(let nodes):
            "unsupported model: \(nodes.count) node(s) cannot run:\n"
                + nodes.map { "  - \($0)" }.joined(separator: "\n")
        }
    }
}

/// A node the engine cannot run, and why.
public struct UnsupportedNode: Sendable, Equatable, CustomStringConvertible {
    public var opType: String
    public var name: String
    public var reason: String
    public var description: String { "\(opType) '\(name)': \(reason)" }
}
