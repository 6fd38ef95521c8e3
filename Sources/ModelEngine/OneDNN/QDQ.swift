/// One scale and one zero point: what a QuantizeLinear or DequantizeLinear node with per-tensor
/// parameters applies (`real = scale · (q − zero)`).
struct QuantParams: Equatable {
    var scale: Float
    var zero: Int32
}

/// Reading QDQ patterns: the int8 fusions look for `DequantizeLinear` → op → `QuantizeLinear`
/// around the operator they replace, with constant per-tensor parameters.
extension Planner {
    /// The DequantizeLinear node that produces `name`, if that is what produces it.
    func dequantizer(of name: String) -> Node? {
        producers[name].map { graph.nodes[$0] }.flatMap { $0.opType == "DequantizeLinear" ? $0 : nil }
    }

    /// The index of the one node that reads `name`, when nothing else does (no other node, no
    /// graph output) and that node is not yet part of a fusion.
    func soleConsumer(of name: String) -> Int? {
        guard uses[name] == 1, !graphOutputs.contains(name), let cs = consumers[name], cs.count == 1, !fused.contains(cs[0]) else { return nil }
        return cs[0]
    }

    /// The constant input `i` of `node`, if it has one.
    func constantInput(_ node: Node, _ i: Int) -> Tensor? {
        i < node.inputs.count && !node.inputs[i].isEmpty ? values[node.inputs[i]]?.constant : nil
    }

    /// A Q or DQ node's scale and zero point when both are constant single values (a missing
    /// zero point is 0); nil for per-axis or blocked quantization or computed parameters.
    func scalarParams(_ node: Node) -> QuantParams? {
        guard node.inputs.count > 1, node.int("block_size", default: 0) == 0,
            let s = constantInput(node, 1), s.count == 1, s.dataType == .float32
        else { return nil }
        guard node.inputs.count > 2, !node.inputs[2].isEmpty else { return QuantParams(scale: s.floats[0], zero: 0) }
        guard let z = constantInput(node, 2), z.count == 1, let v = z.integers?.first, let zero = Int32(exactly: v) else { return nil }
        return QuantParams(scale: s.floats[0], zero: zero)
    }

    /// A QuantizeLinear node to 8 bits with per-tensor parameters and a positive scale: its
    /// parameters and output type.
    func quantizeTarget(_ node: Node) -> (QuantParams, DataType)? {
        guard node.opType == "QuantizeLinear", let p = scalarParams(node), p.scale > 0,
            let type = try? Quantization.outputType(node, constantInput(node, 2)), type == .uint8 || type == .int8
        else { return nil }
        return (p, type)
    }
}
