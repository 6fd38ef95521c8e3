/// An ONNX graph after loading: plain nodes, constant tensors, and the graph's interface.
struct Graph {
    var nodes: [Node]
    /// Initializers and `Constant` node outputs.
    var constants: [String: Tensor]
    var inputs: [ValueSpec]
    var outputs: [ValueSpec]
    /// The default-domain opset version the model was exported for.
    var opset: Int
}

/// A declared graph input or output.
public struct ValueSpec: Sendable, Equatable {
    public enum Dimension: Sendable, Equatable {
        case fixed(Int)
        case symbolic(String)
    }
    public var name: String
    public var dataType: DataType?
    public var shape: [Dimension]?
    /// False for sequence, map and optional values, which the engine does not run.
    public var isTensor: Bool = true
}

struct Node {
    var opType: String
    var name: String
    var domain: String
    /// Input value names; "" marks an omitted optional input.
    var inputs: [String]
    var outputs: [String]
    var attributes: [String: Attribute]

    func int(_ key: String) -> Int? {
        if case .int(let v) = attributes[key] { return v }
        return nil
    }
    func int(_ key: String, default value: Int) -> Int { int(key) ?? value }
    func float(_ key: String, default value: Float) -> Float {
        if case .float(let v) = attributes[key] { return v }
        return value
    }
    func ints(_ key: String) -> [Int]? {
        if case .ints(let v) = attributes[key] { return v }
        return nil
    }
    func floats(_ key: String) -> [Float]? {
        if case .floats(let v) = attributes[key] { return v }
        return nil
    }
    func string(_ key: String) -> String? {
        if case .string(let v) = attributes[key] { return v }
        return nil
    }
    func tensor(_ key: String) -> Tensor? {
        if case .tensor(let v) = attributes[key] { return v }
        return nil
    }

    /// The input at `index`, or nil when it is absent or omitted.
    func input(_ index: Int) -> String? {
        index < inputs.count && !inputs[index].isEmpty ? inputs[index] : nil
    }
}

enum Attribute {
    case int(Int)
    case float(Float)
    case string(String)
    case ints([Int])
    case floats([Float])
    case strings([String])
    case tensor(Tensor)
    case other(String)
}

extension Graph {
    /// A value name that two nodes define, or a node and an initializer or graph input: ONNX
    /// graphs assign each value once, and planning (and the constants plans share) find values
    /// by name, so such a graph is refused rather than run with one definition silently winning.
    var redefinedValue: String? {
        var defined = Set(constants.keys).union(inputs.map(\.name))
        for node in nodes {
            for output in node.outputs where !output.isEmpty && !defined.insert(output).inserted { return output }
        }
        return nil
    }
}
