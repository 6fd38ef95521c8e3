import CDNNL

extension Planner {
    /// A QDQ Gemm, `Gemm(DQ(x), DQ(w), DQ(b))` with its result quantized by a QuantizeLinear or
    /// left in float (a classifier's logits), as one oneDNN int8 matmul: 8-bit `x` with its zero
    /// point, s8 weights (converted once to oneDNN's layout and shared by plans, like a
    /// convolution's), the int32 bias in the accumulator, output scales per column
    /// `alpha · sx · sw[n] (/ sy)`. No float copy of the weights is made or kept.
    /// Returns false when the pattern does not hold or oneDNN has no kernel: the float path runs.
    func planInt8Gemm(_ node: Node, _ ins: [Value?]) throws -> Bool {
        guard node.int("transA", default: 0) == 0, node.inputs.count >= 2,
            let dx = dequantizer(of: node.inputs[0]), let x = values[dx.inputs[0]], x.constant == nil, x.shape.count == 2,
            x.type == .uint8 || x.type == .int8, let px = scalarParams(dx),
            let dw = dequantizer(of: node.inputs[1]), let w = constantInput(dw, 0), w.dataType == .int8, w.shape.count == 2,
            let sw = constantInput(dw, 1), sw.dataType == .float32, sw.shape.count <= 1, dw.int("block_size", default: 0) == 0,
            symmetric(dw), !Self.mightSaturate(w)
        else { return false }
        let transB = node.int("transB", default: 0) == 1
        let (m, k) = (x.shape[0], x.shape[1])
        let n = transB ? w.shape[0] : w.shape[1]
        // Per-column scales lie along W's N axis: 0 when W is stored [N, K], 1 when [K, N].
        let axis = dw.int("axis", default: 1)
        guard (transB ? w.shape[1] : w.shape[0]) == k,
            sw.count == 1 || (sw.count == n && (axis < 0 ? axis + 2 : axis) == (transB ? 0 : 1))
        else { return false }
        let alpha = node.float("alpha", default: 1)
        let beta = node.float("beta", default: 1)
        let columnScale = (0..<n).map { alpha * px.scale * sw.floats[sw.count == 1 ? 0 : $0] }
        guard columnScale.allSatisfy({ $0.isFinite && $0 != 0 }) else { return false }

        var bias: Value?
        if node.inputs.count > 2, !node.inputs[2].isEmpty, beta != 0 {
            // The bias goes into the accumulator, so it must be at the accumulator's scale.
            guard let db = dequantizer(of: node.inputs[2]), let b = constantInput(db, 0), b.dataType == .int32, b.count == n,
                b.shape.count == 1 || b.shape == [1, n], let sb = constantInput(db, 1), sb.dataType == .float32, sb.count == 1 || sb.count == n,
                symmetric(db),
                (0..<n).allSatisfy({ j in
                    let got = beta * sb.floats[sb.count == 1 ? 0 : j]
                    return abs(got - columnScale[j]) <= 1e-6 * abs(columnScale[j])
                })
            else { return false }
            bias = derivedConstant(db.inputs[0] + "#s32", Tensor(shape: [1, n], dataType: .int32, bytes: b.bytes), from: db.inputs[0])
        }
        let quantize = soleConsumer(of: node.outputs[0]).flatMap { j in quantizeTarget(graph.nodes[j]).map { (j, $0.0, $0.1) } }
        let outType = quantize?.2 ?? .float32

        var src = MemoryDesc.plain([m, k], type: x.type.dnnl)
        var wei = MemoryDesc.plain([k, n], type: dnnl_s8, any: true)
        var dst = MemoryDesc.plain([m, n], type: outType.dnnl)
        var biasMD = MemoryDesc.plain([1, n], type: dnnl_s32)
        var desc = dnnl_matmul_desc_t()
        let status = withUnsafePointer(to: &biasMD) { bp in dnnl_matmul_desc_init(&desc, &src, &wei, bias == nil ? nil : bp, &dst) }
        guard status == dnnl_success else { return false }
        let attr = try PrimitiveAttr()
        var scales = columnScale.map { $0 / (quantize?.1.scale ?? 1) }
        try check(dnnl_primitive_attr_set_output_scales(attr.handle, Int64(n), 1 << 1, &scales), "set_output_scales")
        try attr.setZeroPoint(Arg.src, px.zero)
        if let quantize { try attr.setZeroPoint(Arg.dst, quantize.1.zero) }
        guard let prim = try? Primitive(desc: &desc, attr: attr) else { return false }

        // W as [K, N] over its stored bytes: a strided view when stored [N, K].
        let wName = dw.inputs[0]
        let stored = derivedConstant(wName + "#s8", Tensor(shape: w.shape, dataType: .int8, bytes: w.bytes), from: wName)
        let md: MemoryDesc = transB ? .strided([k, n], strides: [1, k], type: dnnl_s8) : .plain([k, n], type: dnnl_s8)
        let view = Value(name: stored.name, shape: [k, n], type: .int8, md: md, constant: stored.constant)
        let weights = try reorder(view, to: prim.md(dnnl_query_weights_md))
        var reads: [(Int32, Value)] = [(Arg.src, try plain(x)), (Arg.weights, weights)]
        if let bias { reads.append((Arg.bias, bias)) }
        let outName = quantize.map { graph.nodes[$0.0].outputs[0] } ?? node.outputs[0]
        let out = newValue(outName, shape: [m, n], type: outType)
        emitPrimitive(node.name, prim, reads: reads, writes: [(Arg.dst, out)])
        define(outName, out)
        if let quantize {
            fused.insert(quantize.0)
            consume(graph.nodes[quantize.0])
        }
        return true
    }

    /// Every zero point of a DequantizeLinear (one per channel) is 0, as for weights and biases.
    func symmetric(_ node: Node) -> Bool {
        guard node.inputs.count > 2, !node.inputs[2].isEmpty else { return true }
        return constantInput(node, 2)?.integers?.allSatisfy { $0 == 0 } ?? false
    }
}
