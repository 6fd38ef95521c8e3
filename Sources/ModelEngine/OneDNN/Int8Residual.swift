import CDNNL

/// A residual `Add` after an int8 convolution, as QDQ writes it:
/// `Q3(Add(DQ1(Q1(conv)), DQ2(skip)))`, optionally `Relu` before `Q3`. The convolution writes
/// `Q3`'s result directly: its accumulator scaled to `Q3`'s units plus the int8 `skip`
/// rescaled by a sum post-op (`(s2 / s3) · (skip − z2)`), so neither operand goes through float.
/// `Q1 → DQ1` is kept as the range it clips the convolution's result to (a clip post-op before
/// the sum) but not as a rounding: the sum is rounded once instead of twice, which can differ
/// from the graph's arithmetic by one step of `Q3` (onnxruntime's QLinearAdd rounds twice).
struct Int8Residual {
    /// The convolution's node index.
    var conv: Int
    /// The other operand, 8-bit, as computed earlier in the plan, and its parameters.
    var skip: Value
    var skipParams: QuantParams
    /// `Q1`'s range in `Q3`'s units: the convolution's result saturates there first.
    var clip: (low: Float, high: Float)
    var relu: Bool
    var output: QuantParams
    var outputType: DataType
    /// Nodes the fusion replaces after `Q1`: `DQ1`, the Add, the Relu if any, `Q3` (last), and
    /// `DQ2` when the Add is its only reader.
    var nodes: [Int]
    var quantize: Int { nodes.last! }
}

extension Planner {
    /// The pattern after `conv`'s QuantizeLinear, or nil.
    func int8Residual(after conv: Int8Conv, shape: [Int]) -> Int8Residual? {
        let q1 = graph.nodes[conv.quantize]
        guard let d1i = soleConsumer(of: q1.outputs[0]) else { return nil }
        let d1 = graph.nodes[d1i]
        // DQ1 must undo Q1 exactly, or skipping both would change the value.
        guard d1.opType == "DequantizeLinear", scalarParams(d1) == QuantParams(scale: conv.outputScale, zero: conv.outputZero),
            let addi = soleConsumer(of: d1.outputs[0])
        else { return nil }
        let add = graph.nodes[addi]
        guard add.opType == "Add", add.inputs.count == 2, add.inputs[0] != add.inputs[1] else { return nil }
        let other = add.inputs[0] == d1.outputs[0] ? add.inputs[1] : add.inputs[0]
        guard let d2 = dequantizer(of: other), let skipParams = scalarParams(d2), let skip = values[d2.inputs[0]],
            skip.constant == nil, skip.type == conv.outputType, skip.shape == shape
        else { return nil }
        var nodes = [d1i, addi]
        var last = add
        var relu = false
        if let j = soleConsumer(of: add.outputs[0]), graph.nodes[j].opType == "Relu" {
            relu = true
            nodes.append(j)
            last = graph.nodes[j]
        }
        guard let q3i = soleConsumer(of: last.outputs[0]), let (output, type) = quantizeTarget(graph.nodes[q3i]), type == skip.type,
            let convi = producers[q1.inputs[0]]
        else { return nil }
        // DQ2 goes with the Add when the Add is its only reader and it is not planned yet (it
        // comes after the convolution in the graph's order).
        if let d2i = producers[other], d2i > convi, soleConsumer(of: other) == addi { nodes.append(d2i) }
        nodes.append(q3i)
        let (qmin, qmax) = Quantization.range(conv.outputType)
        let toOutput = conv.outputScale / output.scale
        let clip = (Float(qmin - Int64(conv.outputZero)) * toOutput, Float(qmax - Int64(conv.outputZero)) * toOutput)
        return Int8Residual(
            conv: convi, skip: skip, skipParams: skipParams, clip: clip, relu: relu, output: output, outputType: type, nodes: nodes
        )
    }

    /// Where the fused convolution writes: the sum post-op adds to what the destination holds,
    /// so that is `skip` itself when nothing reads it afterwards (in place), else a copy of it.
    func residualDestination(_ r: Int8Residual, fusing fusedNodes: [Int], shape: [Int], md: MemoryDesc) throws -> Value {
        let name = graph.nodes[r.quantize].outputs[0]
        let skip = r.skip
        if skip.md == md, !graphOutputs.contains(skip.name), values[skip.name] === skip, skip.storage?.sharers == 1,
            readersPlanned(skip.name, before: r.conv, except: Set(fusedNodes))
        {
            let out = Value(name: name, shape: shape, type: r.outputType, md: md)
            out.takeOver(skip)
            return out
        }
        let out = newValue(name, shape: shape, type: r.outputType, md: md)
        let prim = try Primitive.reorder(from: skip.md, to: md)
        emit("copy \(skip.name)", reads: [skip], writes: [out]) { b in
            let call = PrimitiveCall(prim, [(Arg.src, try b.memory(skip)), (Arg.dst, try b.memory(out))])
            return { try call.run($0) }
        }
        return out
    }

    /// True when every node that reads `name` has already been planned (its step runs before
    /// node `index`'s), apart from `fused` ones — counting the readers of a DequantizeLinear of
    /// it, since int8 fusions read the 8-bit value behind that (the convolution's own source
    /// included: overwriting it in place would feed the kernel its own output).
    func readersPlanned(_ name: String, before index: Int, except fused: Set<Int>) -> Bool {
        for c in consumers[name] ?? [] where !fused.contains(c) {
            guard c < index else { return false }
            let node = graph.nodes[c]
            guard node.opType == "DequantizeLinear" else { continue }
            for out in node.outputs where !out.isEmpty {
                if (consumers[out] ?? []).contains(where: { !fused.contains($0) && $0 >= index }) { return false }
            }
        }
        return true
    }
}
