/// The operators this engine runs, and the load-time check that a graph uses only those.
enum Operators {
    static let eltwiseNames: Set<String> = ["Relu", "LeakyRelu", "Sigmoid", "Tanh", "HardSwish", "HardSigmoid", "Clip"]
    static let oneDNN: Set<String> = [
        "Conv", "ConvTranspose", "MaxPool", "AveragePool", "GlobalAveragePool", "GlobalMaxPool", "LRN",
        "BatchNormalization", "MatMul", "Gemm",
    ]
    static var supported: Set<String> { oneDNN.union(eltwiseNames).union(ReferenceKernels.operators) }

    /// Every node the engine cannot run, with the reason; empty when the graph is supported.
    static func validate(_ graph: Graph) -> [UnsupportedNode] {
        var problems: [UnsupportedNode] = []
        func fail(_ n: Node, _ why: String) { problems.append(UnsupportedNode(opType: n.opType, name: n.name, reason: why)) }
        for v in graph.inputs + graph.outputs where !v.isTensor {
            problems.append(UnsupportedNode(opType: "Graph", name: v.name, reason: "a non-tensor (sequence, map or optional) value"))
        }
        for n in graph.nodes {
            guard n.domain.isEmpty || n.domain == "ai.onnx" else {
                fail(n, "operator domain '\(n.domain)'")
                continue
            }
            guard supported.contains(n.opType) else {
                fail(n, "operator not implemented")
                continue
            }
            for (key, value) in n.attributes {
                if case .other(let kind) = value { fail(n, "attribute '\(key)' of kind \(kind)") }
            }
            if let p = n.string("auto_pad"), !["NOTSET", "SAME_UPPER", "SAME_LOWER", "VALID"].contains(p) { fail(n, "auto_pad \(p)") }
            switch n.opType {
            case "MaxPool" where n.outputs.count > 1 && !n.outputs[1].isEmpty: fail(n, "the Indices output")
            case "AveragePool" where n.int("ceil_mode", default: 0) == 1 && n.int("count_include_pad", default: 0) == 1:
                fail(n, "ceil_mode together with count_include_pad")
            case "LRN" where (n.int("size") ?? 1) % 2 == 0: fail(n, "an even LRN size")
            case "BatchNormalization" where n.int("training_mode", default: 0) == 1: fail(n, "training_mode")
            case "Cast" where DataType(rawValue: Int32(n.int("to") ?? 0)) == nil: fail(n, "cast to data type \(n.int("to") ?? 0)")
            case "Pad":
                if let mode = n.string("mode"), !["constant", "reflect", "edge", "wrap"].contains(mode) { fail(n, "mode \(mode)") }
            default: break
            }
        }
        return problems
    }
}
