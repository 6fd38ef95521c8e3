import CDNNL

extension Planner {
    /// MatMul with NumPy semantics (1-D promotion, broadcast batch dimensions) as oneDNN matmul.
    func planMatMul(_ node: Node, _ a0: Value, _ b0: Value) throws {
        try requireFloat(node, a0, b0)
        var aShape = a0.shape
        var bShape = b0.shape
        guard !aShape.isEmpty, !bShape.isEmpty else { throw KernelError("MatMul of a scalar") }
        if aShape.count == 1 { aShape = [1] + aShape }
        if bShape.count == 1 { bShape = bShape + [1] }
        guard aShape.last == bShape[bShape.count - 2] else { throw KernelError("MatMul: \(a0.shape) × \(b0.shape)") }
        let rank = max(aShape.count, bShape.count)
        aShape = [Int](repeating: 1, count: rank - aShape.count) + aShape
        bShape = [Int](repeating: 1, count: rank - bShape.count) + bShape
        let batch = try Arithmetic.broadcastShape(Array(aShape.dropLast(2)), Array(bShape.dropLast(2)))
        let dstShape = batch + [aShape[rank - 2], bShape[rank - 1]]
        var outShape = batch
        if a0.shape.count > 1 { outShape.append(aShape[rank - 2]) }
        if b0.shape.count > 1 { outShape.append(bShape[rank - 1]) }
        let a = try view(a0, as: aShape)
        let b = try view(b0, as: bShape)
        try emitMatMul(node, a: a, b: b, bias: nil, dstShape: dstShape, outShape: outShape, output: node.outputs[0], scale: 1)
    }

    /// Gemm: `alpha · A′ · B′ + beta · C` with optional transposes, as matmul with a bias.
    func planGemm(_ node: Node, _ ins: [Value?]) throws {
        guard let a0 = ins[0], let b0 = ins.count > 1 ? ins[1] : nil else { throw KernelError("Gemm needs A and B") }
        if try planInt8Gemm(node, ins) { return }
        try requireFloat(node, a0, b0)
        guard a0.shape.count == 2, b0.shape.count == 2 else { throw KernelError("Gemm needs 2-D A and B") }
        let alpha = node.float("alpha", default: 1)
        let beta = node.float("beta", default: 1)
        let transA = node.int("transA", default: 0) == 1
        let transB = node.int("transB", default: 0) == 1
        let a = try transposedView(a0, transA)
        let b = try transposedView(b0, transB)
        let (m, k, n) = (a.shape[0], a.shape[1], b.shape[1])
        guard b.shape[0] == k else { throw KernelError("Gemm: \(a.shape) × \(b.shape)") }
        var bias: Value?
        var addend: Value?
        if let c0 = ins.count > 2 ? ins[2] : nil, beta != 0 {
            try requireFloat(node, c0)
            let cShape = [Int](repeating: 1, count: 2 - min(2, c0.shape.count)) + c0.shape.suffix(2)
            guard cShape[0] == 1 || cShape[0] == m, cShape[1] == 1 || cShape[1] == n else {
                throw KernelError("Gemm: C \(c0.shape) does not broadcast to [\(m), \(n)]")
            }
            if let c = c0.constant, alpha != 0 {
                // oneDNN scales after adding the bias: alpha · (A·B + C · beta/alpha).
                let factor = beta / alpha
                bias = Value(
                    name: internalName("bias"),
                    shape: cShape,
                    type: .float32,
                    constant: Tensor(shape: cShape, floats: c.floats.map { $0 * factor })
                )
            } else {
                addend = try view(c0, as: cShape)
            }
        }
        guard let addend else {
            try emitMatMul(node, a: a, b: b, bias: bias, dstShape: [m, n], outShape: [m, n], output: node.outputs[0], scale: alpha)
            return
        }
        // A runtime C: alpha·AB + beta·C = beta · ((alpha/beta)·AB + C), as a matmul into a
        // temporary and a binary add with a linear post-op (oneDNN 2.6 binary has no src1 scale).
        let tmpName = internalName(node.outputs[0])
        try emitMatMul(node, a: a, b: b, bias: nil, dstShape: [m, n], outShape: [m, n], output: tmpName, scale: alpha / beta, fuse: false)
        let tmp = values[tmpName]!
        var src0 = tmp.md
        var src1 = addend.md
        var dst = tmp.md
        var desc = dnnl_binary_desc_t()
        try check(dnnl_binary_desc_init(&desc, dnnl_binary_add, &src0, &src1, &dst), "binary_desc_init")
        let attr = try PrimitiveAttr()
        if beta != 1 { try attr.setPostOps([.eltwise(dnnl_eltwise_linear, beta, 0)]) }
        let prim = try Primitive(desc: &desc, attr: attr)
        let out = newValue(node.outputs[0], shape: [m, n])
        emitPrimitive(node.name + " + C", prim, reads: [(Arg.src, tmp), (Arg.src1, addend)], writes: [(Arg.dst, out)])
        define(node.outputs[0], out)
    }

    private func transposedView(_ v: Value, _ transpose: Bool) throws -> Value {
        let p = try plain(v)
        guard transpose else { return p }
        let shape = [p.shape[1], p.shape[0]]
        let out = Value(name: p.name, shape: shape, type: .float32, md: .strided(shape, strides: [1, p.shape[1]]), constant: p.constant)
        out.share(p)
        out.constantBuffer = p.constantBuffer
        return out
    }

    private func emitMatMul(
        _ node: Node,
        a: Value,
        b: Value,
        bias: Value?,
        dstShape: [Int],
        outShape: [Int],
        output: String,
        scale: Float,
        fuse: Bool = true
    ) throws {
        let chain = fuse ? fusionChain(after: output, shape: outShape, allowSum: false) : FusionChain(output: output)
        var src = a.md
        var wei = b.md
        var dst = MemoryDesc.plain(dstShape)
        var biasMD = bias?.md ?? MemoryDesc()
        var desc = dnnl_matmul_desc_t()
        try withUnsafePointer(to: &biasMD) { bp in
            try check(dnnl_matmul_desc_init(&desc, &src, &wei, bias == nil ? nil : bp, &dst), "matmul_desc_init")
        }
        let attr = try PrimitiveAttr()
        if scale != 1 { try attr.setOutputScale(scale) }
        try attr.setPostOps(chain.ops)
        let prim = try Primitive(desc: &desc, attr: attr)
        let out = newValue(chain.output, shape: outShape)
        let dstView = Value(name: out.name, shape: dstShape, type: .float32)
        dstView.share(out)
        var reads = [(Arg.src, a), (Arg.weights, b)]
        if let bias { reads.append((Arg.bias, bias)) }
        emitPrimitive(node.name, prim, reads: reads, writes: [(Arg.dst, dstView)])
        finishFusion(chain, out)
    }
}
