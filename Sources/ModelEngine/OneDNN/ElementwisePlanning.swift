import CDNNL

extension Planner {
    /// A standalone activation as a oneDNN eltwise primitive (more activations fuse into it).
    func planEltwise(_ node: Node, _ x0: Value, _ ops: [PostOp]) throws {
        try requireFloat(node, x0)
        guard case .eltwise(let alg, let alpha, let beta) = ops[0] else { return }
        let chain = fusionChain(after: node.outputs[0], shape: x0.shape, allowSum: false)
        // oneDNN 2.6's reference eltwise ignores post-ops on 1-D tensors: run those as [1, n].
        let x = x0.shape.count < 2 ? try view(x0, as: [1, x0.count]) : x0
        var md = x.md
        var desc = dnnl_eltwise_desc_t()
        try check(dnnl_eltwise_forward_desc_init(&desc, dnnl_forward_inference, alg, &md, alpha, beta), "eltwise_forward_desc_init")
        let attr = try PrimitiveAttr()
        try attr.setPostOps(Array(ops.dropFirst()) + chain.ops)
        let prim = try Primitive(desc: &desc, attr: attr)
        let out = inPlaceOrNew(chain.output, reusing: x0)
        emitPrimitive(node.name, prim, reads: [(Arg.src, x)], writes: [(Arg.dst, try view(out, as: x.shape))])
        finishFusion(chain, out)
    }

    /// Add/Sub/Mul/Div on float32 with oneDNN when the first operand has the output's shape
    /// (commutative ops swap to get there); other cases run the reference kernel.
    func planBinary(_ node: Node, _ a0: Value, _ b0: Value) throws -> Bool {
        guard a0.type == .float32, b0.type == .float32, a0.count > 0, b0.count > 0 else { return false }
        let fullShape = try Arithmetic.broadcastShape(a0.shape, b0.shape)
        var outShape = fullShape
        var (a, b) = (a0, b0)
        let commutative = node.opType == "Add" || node.opType == "Mul"
        if a.shape != outShape {
            guard commutative, b.shape == outShape else { return false }
            swap(&a, &b)
        }
        if a.constant != nil { a = try plain(a) }
        let outValueShape = fullShape
        if fullShape.count < 2 {
            a = try view(a, as: [1, a.count])
            b = try view(b, as: [1, b.count])
            outShape = a.shape
        }
        // src1 needs the same rank; pad its shape with leading ones (plain data only).
        if b.shape.count != outShape.count || !b.isPlain && b.md.ndims != a.md.ndims {
            b = try view(b, as: [Int](repeating: 1, count: outShape.count - b.shape.count) + b.shape)
        }
        if !b.isPlain && b.shape != a.shape { b = try plain(b) }
        let alg: dnnl_alg_kind_t =
            switch node.opType {
            case "Add": dnnl_binary_add
            case "Sub": dnnl_binary_sub
            case "Mul": dnnl_binary_mul
            default: dnnl_binary_div
            }
        let chain = fusionChain(after: node.outputs[0], shape: outValueShape, allowSum: false)
        var src0 = a.md
        var src1 = b.md
        var dst = a.md
        var desc = dnnl_binary_desc_t()
        try check(dnnl_binary_desc_init(&desc, alg, &src0, &src1, &dst), "binary_desc_init")
        let attr = try PrimitiveAttr()
        try attr.setPostOps(chain.ops)
        let prim = try Primitive(desc: &desc, attr: attr)
        var out = inPlaceOrNew(chain.output, reusing: a)
        let dstView = out
        if outValueShape.count < 2 {
            out = Value(name: chain.output, shape: outValueShape, type: .float32)
            out.share(dstView)
        }
        emitPrimitive(node.name, prim, reads: [(Arg.src, a), (Arg.src1, b)], writes: [(Arg.dst, dstView)])
        finishFusion(chain, out)
        return true
    }

    /// Concat of float32 tensors with oneDNN, in whatever layout the inputs have.
    func planConcat(_ node: Node, _ xs: [Value]) throws -> Bool {
        guard let first = xs.first, xs.allSatisfy({ $0.type == .float32 && $0.count > 0 && $0.shape.count == first.shape.count }),
            first.shape.count > 0
        else { return false }
        let rank = first.shape.count
        var axis = node.int("axis", default: 0)
        if axis < 0 { axis += rank }
        guard axis >= 0, axis < rank else { return false }
        let srcs = try xs.map { $0.constant != nil ? try plain($0) : $0 }
        var outShape = first.shape
        outShape[axis] = xs.reduce(0) { $0 + $1.shape[axis] }
        var mds = srcs.map(\.md)
        var dst = MemoryDesc.plain(outShape, any: true)
        var pd: dnnl_primitive_desc_t?
        try check(
            dnnl_concat_primitive_desc_create(&pd, &dst, Int32(mds.count), Int32(axis), &mds, nil, DNNLEngine.shared.handle),
            "concat_primitive_desc_create"
        )
        let prim = try Primitive(pd: pd!)
        let out = newValue(node.outputs[0], shape: outShape, md: prim.md(dnnl_query_dst_md))
        emitPrimitive(node.name, prim, reads: srcs.enumerated().map { (Arg.multipleSrc + Int32($0.offset), $0.element) }, writes: [(Arg.dst, out)])
        define(node.outputs[0], out)
        return true
    }

    /// A new value, or `x`'s storage when `x` is read nowhere after this node.
    func inPlaceOrNew(_ name: String, reusing x: Value) -> Value {
        if canOverwrite(x) {
            let out = Value(name: name, shape: x.shape, type: x.type, md: x.md)
            out.share(x)
            return out
        }
        return newValue(name, shape: x.shape, type: x.type, md: x.md)
    }
}
