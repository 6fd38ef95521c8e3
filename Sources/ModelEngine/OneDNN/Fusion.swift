import CDNNL

/// Operators that follow a primitive and fold into it as post-ops.
struct FusionChain {
    var ops: [PostOp] = []
    /// Indices of the fused nodes.
    var nodes: [Int] = []
    /// The other operand of a fused residual `Add`.
    var sum: Value?
    /// The value name the fused chain finally produces.
    var output: String
}

extension Planner {
    /// Follows single-consumer edges from `start`, collecting activations (and, if allowed, one
    /// residual `Add` of a same-shaped, already computed value) that can run as post-ops.
    func fusionChain(after start: String, shape: [Int], allowSum: Bool) -> FusionChain {
        var chain = FusionChain(output: start)
        while uses[chain.output] == 1, !graphOutputs.contains(chain.output),
            let cs = consumers[chain.output], cs.count == 1, let j = cs.first, !fused.contains(j)
        {
            let next = graph.nodes[j]
            if let ops = eltwiseOps(next) {
                chain.ops += ops
            } else if allowSum, chain.sum == nil, chain.ops.isEmpty, next.opType == "Add", next.inputs.count == 2,
                let other = values[next.inputs[0] == chain.output ? next.inputs[1] : next.inputs[0]],
                other.type == .float32, other.shape == shape, other.constant == nil
            {
                chain.sum = other
                chain.ops.append(.sum)
            } else {
                break
            }
            chain.nodes.append(j)
            chain.output = next.outputs[0]
        }
        return chain
    }

    /// The oneDNN post-ops for an activation node, or nil if it is not one (or has non-constant bounds).
    func eltwiseOps(_ n: Node) -> [PostOp]? {
        guard n.outputs.count == 1 else { return nil }
        switch n.opType {
        case "Relu": return [.eltwise(dnnl_eltwise_relu, 0, 0)]
        case "LeakyRelu": return [.eltwise(dnnl_eltwise_relu, n.float("alpha", default: 0.01), 0)]
        case "Sigmoid": return [.eltwise(dnnl_eltwise_logistic, 0, 0)]
        case "Tanh": return [.eltwise(dnnl_eltwise_tanh, 0, 0)]
        case "HardSwish": return [.eltwise(dnnl_eltwise_hardswish, 0, 0)]
        case "HardSigmoid":
            return [
                .eltwise(dnnl_eltwise_linear, n.float("alpha", default: 0.2), n.float("beta", default: 0.5)),
                .eltwise(dnnl_eltwise_clip_v2, 0, 1),
            ]
        case "Clip":
            var lo = -Float.greatestFiniteMagnitude
            var hi = Float.greatestFiniteMagnitude
            if graph.opset < 11 {
                lo = n.float("min", default: lo)
                hi = n.float("max", default: hi)
            } else {
                for (k, name) in n.inputs.enumerated().dropFirst() where !name.isEmpty {
                    guard let c = values[name]?.constant, c.dataType == .float32, c.count == 1 else { return nil }
                    if k == 1 { lo = c.floats[0] } else { hi = c.floats[0] }
                }
            }
            return [.eltwise(dnnl_eltwise_clip_v2, lo, hi)]
        default: return nil
        }
    }

    /// Where a primitive with `chain` writes: for a fused `Add`, the other operand's storage when
    /// it is read nowhere else (in place), else a copy of it.
    func destination(_ chain: FusionChain, shape: [Int], md: MemoryDesc) throws -> Value {
        guard let other = chain.sum else { return newValue(chain.output, shape: shape, md: md) }
        if other.md == md, canOverwrite(other) {
            let out = Value(name: chain.output, shape: shape, type: .float32, md: md)
            out.takeOver(other)
            return out
        }
        let out = newValue(chain.output, shape: shape, md: md)
        let prim = try Primitive.reorder(from: other.md, to: md)
        emit("copy \(other.name)", reads: [other], writes: [out]) { b in
            let call = PrimitiveCall(prim, [(Arg.src, try b.memory(other)), (Arg.dst, try b.memory(out))])
            return { try call.run($0) }
        }
        return out
    }

    /// True when `v` is read by exactly one more node and nothing else shares its memory.
    func canOverwrite(_ v: Value) -> Bool {
        v.constant == nil && values[v.name] === v && isLastUse(v.name) && v.storage?.sharers == 1
    }

    func finishFusion(_ chain: FusionChain, _ out: Value) {
        define(chain.output, out)
        for j in chain.nodes {
            fused.insert(j)
            consume(graph.nodes[j])
        }
    }
}
