import CDNNL

/// A QDQ convolution, `Q(Conv(DQ(x), DQ(w), DQ(b)))`, as the integers it stands for.
struct Int8Conv {
    var source: Value
    var sourceScale: Float
    var sourceZero: Int32
    /// Int8 weights `[oc, ic/group, k…]` and their scale per output channel; `weightsName` is
    /// the value they come from (`biasName` the bias's).
    var weights: Tensor
    var weightsName: String
    var weightScales: [Float]
    /// Int32 bias at scale `sourceScale · weightScales[oc]`, if any.
    var bias: Tensor?
    var biasName: String?
    var outputScale: Float
    var outputZero: Int32
    var outputType: DataType
    /// The QuantizeLinear node the convolution's result goes through.
    var quantize: Int
}

extension Planner {
    /// True when oneDNN runs on a CPU with VNNI (AVX512_VNNI or AVX_VNNI): int8 products are
    /// summed in 32 bits there.
    static let hasVNNI: Bool = {
        let isa = dnnl_get_effective_cpu_isa().rawValue
        return isa & dnnl_cpu_isa_avx512_core_vnni.rawValue == dnnl_cpu_isa_avx512_core_vnni.rawValue
            || isa & dnnl_cpu_isa_avx2_vnni.rawValue == dnnl_cpu_isa_avx2_vnni.rawValue
    }()

    /// Without VNNI, x86 int8 kernels add pairs of u8×s8 products in saturating 16-bit
    /// registers: two weights of magnitude over 64 can overflow there, where the model's
    /// arithmetic does not. oneDNN does not guard a u8 source against it (it halves the
    /// weights only for s8 sources), so such weights take the float path on such CPUs. 7-bit
    /// weights (onnxruntime's `reduce_range`, as the int8 demo model has) are safe everywhere.
    static func mightSaturate(_ weights: Tensor) -> Bool {
        !hasVNNI && weights.scalars(as: Int8.self).contains { abs(Int($0)) > 64 }
    }

    /// A QDQ convolution as one oneDNN int8 convolution: 8-bit source with its zero point, s8
    /// weights, the int32 bias in the accumulator, per-channel output scales
    /// `sx · sw[oc] / sy`, the output zero point, saturated to the output's 8-bit type — the
    /// QuantizeLinear after it included. The dequantized copy of the source the graph names is
    /// then read by nothing and dropped (`ExecutionPlan` keeps only steps whose results are read).
    /// Returns false when the pattern does not hold or oneDNN has no int8 kernel for it; the
    /// float path then runs the convolution between a dequantize and a quantize.
    func planInt8Conv(_ node: Node, _ ins: [Value?]) throws -> Bool {
        guard let x0 = ins[0], let w0 = ins[1], x0.shape.count == 4, w0.shape.count == 4, let q = int8Conv(node) else { return false }
        if Self.mightSaturate(q.weights) { return false }
        let group = node.int("group", default: 1)
        let (n, ic, oc) = (x0.shape[0], x0.shape[1], w0.shape[0])
        let kernel = Array(w0.shape[2...])
        guard group > 0, ic == w0.shape[1] * group, oc % group == 0 else { return false }
        // Every convolution that fits the pattern runs int8, depthwise ones too, on every CPU:
        // measured with oneDNN held to AVX2 (`ONEDNN_MAX_CPU_ISA=AVX2`, no VNNI), running the
        // demo model's depthwise layers in float instead made it 18–55% slower (batch 1 and 8,
        // 1 and 2 threads): a float layer between int8 ones costs a dequantizing and a
        // quantizing reorder, more than int8's slower depthwise kernel loses (README, quantized models).
        let win = try Window(node, input: Array(x0.shape[2...]), kernel: kernel)
        let outShape = [n, oc] + win.output
        let wDims = group > 1 ? [group, oc / group, ic / group] + kernel : w0.shape
        // With a residual Add after it, one primitive does both; when oneDNN cannot, the
        // convolution alone still runs int8 and the Add in float.
        let residual = int8Residual(after: q, shape: outShape)
        for r in residual.map({ [$0, nil] }) ?? [nil] {
            guard let prim = try int8ConvPrimitive(q, r, source: x0.shape, weights: wDims, output: outShape, window: win) else { continue }
            let x = try reorder(q.source, to: prim.md(dnnl_query_src_md))
            // Named after the int8 tensors they are, so that plans share them when those are invariant.
            let wPlain = derivedConstant(q.weightsName + "#s8", Tensor(shape: wDims, dataType: .int8, bytes: q.weights.bytes), from: q.weightsName)
            let w = try reorder(wPlain, to: prim.md(dnnl_query_weights_md))
            var reads: [(Int32, Value)] = [(Arg.src, x), (Arg.weights, w)]
            if let b = q.bias, let name = q.biasName { reads.append((Arg.bias, derivedConstant(name + "#s32", b, from: name))) }
            let md = prim.md(dnnl_query_dst_md)
            let out: Value
            let fusedNodes: [Int]
            if let r {
                fusedNodes = [q.quantize] + r.nodes
                out = try residualDestination(r, fusing: fusedNodes, shape: outShape, md: md)
            } else {
                fusedNodes = [q.quantize]
                out = newValue(graph.nodes[q.quantize].outputs[0], shape: outShape, type: q.outputType, md: md)
            }
            emitPrimitive(node.name, prim, reads: reads, writes: [(Arg.dst, out)])
            define(out.name, out)
            for j in fusedNodes {
                fused.insert(j)
                consume(graph.nodes[j])
            }
            return true
        }
        return false
    }

    /// The oneDNN int8 convolution for `q` (and `residual`), or nil when oneDNN has none.
    private func int8ConvPrimitive(
        _ q: Int8Conv, _ residual: Int8Residual?, source: [Int], weights: [Int], output: [Int], window win: Window
    ) throws -> Primitive? {
        let oc = output[1]
        let outputType = residual?.outputType ?? q.outputType
        var src = MemoryDesc.plain(source, type: q.source.type.dnnl, any: true)
        var wei = MemoryDesc.plain(weights, type: dnnl_s8, any: true)
        var dst = MemoryDesc.plain(output, type: outputType.dnnl, any: true)
        var bias = MemoryDesc.plain([oc], type: dnnl_s32)
        var desc = dnnl_convolution_desc_t()
        let status = withUnsafePointer(to: &bias) { biasPtr in
            dnnl_dilated_convolution_forward_desc_init(
                &desc, dnnl_forward_inference, dnnl_convolution_direct, &src, &wei, q.bias == nil ? nil : biasPtr, &dst,
                win.strides.map(Int64.init), win.dnnlDilations, win.padBegin.map(Int64.init), win.padEnd.map(Int64.init)
            )
        }
        guard status == dnnl_success else { return nil }
        let attr = try PrimitiveAttr()
        // Scales take the accumulator to the units of the quantized output; the residual, in its
        // own units, is rescaled to the same by the sum post-op.
        let outputScale = residual?.output.scale ?? q.outputScale
        var scales = (0..<oc).map { q.sourceScale * q.weightScales[q.weightScales.count == 1 ? 0 : $0] / outputScale }
        try check(dnnl_primitive_attr_set_output_scales(attr.handle, Int64(oc), 1 << 1, &scales), "set_output_scales")
        try attr.setZeroPoint(Arg.src, q.sourceZero)
        try attr.setZeroPoint(Arg.dst, residual?.output.zero ?? q.outputZero)
        if let r = residual {
            var ops: [PostOp] = [
                .eltwise(dnnl_eltwise_clip_v2, r.clip.low, r.clip.high),
                .quantizedSum(scale: r.skipParams.scale / outputScale, zero: r.skipParams.zero, type: r.skip.type.dnnl),
            ]
            if r.relu { ops.append(.eltwise(dnnl_eltwise_relu, 0, 0)) }
            try attr.setPostOps(ops)
        }
        return try? Primitive(desc: &desc, attr: attr)
    }

    /// The pattern, read from the graph: `x` dequantized from a computed 8-bit value with one scale
    /// and zero point; `w` from constant int8 with zero points 0 and a scale per tensor or per
    /// output channel; the bias (if any) from int32 at scale `sx · sw`; and the result read only by
    /// a QuantizeLinear with one scale and zero point to 8 bits.
    func int8Conv(_ node: Node) -> Int8Conv? {
        func constant(_ node: Node, _ i: Int) -> Tensor? { constantInput(node, i) }
        // Weights and biases are quantized symmetrically.
        func zeros(_ node: Node) -> Bool { symmetric(node) }
        guard node.inputs.count >= 2, let dx = dequantizer(of: node.inputs[0]), let xq = values[dx.inputs[0]], xq.constant == nil,
            xq.type == .uint8 || xq.type == .int8, let px = scalarParams(dx),
            let dw = dequantizer(of: node.inputs[1]), let wq = constant(dw, 0), wq.dataType == .int8, wq.shape.count == 4, let sw = constant(dw, 1),
            sw.dataType == .float32, sw.shape.count <= 1, dw.int("block_size", default: 0) == 0,
            sw.count == 1 || (sw.count == wq.shape[0] && [0, -4].contains(dw.int("axis", default: 1))),
            zeros(dw)
        else { return nil }
        let (sx, zx) = (px.scale, px.zero)
        let swv = sw.floats
        var bias: Tensor?
        var biasName: String?
        if node.inputs.count > 2, !node.inputs[2].isEmpty {
            guard let db = dequantizer(of: node.inputs[2]), let bq = constant(db, 0), bq.dataType == .int32, bq.count == wq.shape[0],
                let sb = constant(db, 1), sb.dataType == .float32, sb.count == 1 || sb.count == bq.count, zeros(db)
            else { return nil }
            // The bias must be at the accumulator's scale, or adding it there would be wrong.
            let sbv = sb.floats
            for oc in 0..<bq.count {
                let want = sx * swv[swv.count == 1 ? 0 : oc]
                let got = sbv[sbv.count == 1 ? 0 : oc]
                guard abs(got - want) <= 1e-6 * abs(want) else { return nil }
            }
            bias = bq
            biasName = db.inputs[0]
        }
        guard let qi = soleConsumer(of: node.outputs[0]), let (py, yType) = quantizeTarget(graph.nodes[qi]) else { return nil }
        return Int8Conv(
            source: xq, sourceScale: sx, sourceZero: zx, weights: wq, weightsName: dw.inputs[0], weightScales: swv, bias: bias, biasName: biasName,
            outputScale: py.scale, outputZero: py.zero, outputType: yType, quantize: qi
        )
    }
}
