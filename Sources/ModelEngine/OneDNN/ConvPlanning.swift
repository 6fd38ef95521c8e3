import CDNNL

extension Planner {
    /// Conv with BatchNorm already folded in, plus any activation and residual `Add` that
    /// follow it, as one oneDNN convolution with post-ops.
    func planConv(_ node: Node, _ ins: [Value?]) throws {
        guard let x0 = ins[0], let w0 = ins.count > 1 ? ins[1] : nil else { throw KernelError("Conv needs X and W") }
        if try planInt8Conv(node, ins) { return }
        try requireFloat(node, x0, w0)
        let rank = x0.shape.count
        guard (3...5).contains(rank), w0.shape.count == rank else { throw unsupported(node, "Conv on rank \(rank)") }
        let group = node.int("group", default: 1)
        let (n, ic, oc) = (x0.shape[0], x0.shape[1], w0.shape[0])
        let kernel = Array(w0.shape[2...])
        if let k = node.ints("kernel_shape"), k != kernel { throw KernelError("kernel_shape \(k) does not match W \(w0.shape)") }
        guard group > 0, ic == w0.shape[1] * group, oc % group == 0 else {
            throw KernelError("X \(x0.shape), W \(w0.shape) and group \(group) do not fit")
        }
        let win = try Window(node, input: Array(x0.shape[2...]), kernel: kernel)
        let outShape = [n, oc] + win.output
        let chain = fusionChain(after: node.outputs[0], shape: outShape, allowSum: true)

        let wDims = group > 1 ? [group, oc / group, ic / group] + kernel : w0.shape
        var src = MemoryDesc.plain(x0.shape, any: true)
        var wei = MemoryDesc.plain(wDims, any: true)
        var dst = MemoryDesc.plain(outShape, any: true)
        var bias = MemoryDesc.plain([oc])
        let b0 = ins.count > 2 ? ins[2] : nil
        var desc = dnnl_convolution_desc_t()
        try withUnsafePointer(to: &bias) { biasPtr in
            try check(
                dnnl_dilated_convolution_forward_desc_init(
                    &desc,
                    dnnl_forward_inference,
                    dnnl_convolution_direct,
                    &src,
                    &wei,
                    b0 == nil ? nil : biasPtr,
                    &dst,
                    win.strides.map(Int64.init),
                    win.dnnlDilations,
                    win.padBegin.map(Int64.init),
                    win.padEnd.map(Int64.init)
                ),
                "convolution_forward_desc_init"
            )
        }
        let attr = try PrimitiveAttr()
        try attr.setPostOps(chain.ops)
        let prim = try Primitive(desc: &desc, attr: attr)

        let x = try reorder(x0, to: prim.md(dnnl_query_src_md))
        let w = try reorder(try view(w0, as: wDims), to: prim.md(dnnl_query_weights_md))
        var reads: [(Int32, Value)] = [(Arg.src, x), (Arg.weights, w)]
        if let b0 { reads.append((Arg.bias, try plain(b0))) }
        let out = try destination(chain, shape: outShape, md: prim.md(dnnl_query_dst_md))
        emitPrimitive(node.name, prim, reads: reads, writes: [(Arg.dst, out)])
        finishFusion(chain, out)
    }

    /// ConvTranspose as a oneDNN deconvolution.
    func planConvTranspose(_ node: Node, _ ins: [Value?]) throws {
        guard let x0 = ins[0], let w0 = ins.count > 1 ? ins[1] : nil else { throw KernelError("ConvTranspose needs X and W") }
        try requireFloat(node, x0, w0)
        let rank = x0.shape.count
        guard (3...5).contains(rank), w0.shape.count == rank else { throw unsupported(node, "ConvTranspose on rank \(rank)") }
        let group = node.int("group", default: 1)
        let (n, ic) = (x0.shape[0], x0.shape[1])
        let oc = w0.shape[1] * group
        let kernel = Array(w0.shape[2...])
        let spatial = rank - 2
        let strides = node.ints("strides") ?? Array(repeating: 1, count: spatial)
        let dilations = node.ints("dilations") ?? Array(repeating: 1, count: spatial)
        let outPad = node.ints("output_padding") ?? Array(repeating: 0, count: spatial)
        var pads = node.ints("pads") ?? Array(repeating: 0, count: 2 * spatial)
        guard ic == w0.shape[0], strides.count == spatial, dilations.count == spatial, pads.count == 2 * spatial else {
            throw KernelError("ConvTranspose attributes do not fit X \(x0.shape), W \(w0.shape)")
        }
        var output = [Int](repeating: 0, count: spatial)
        let autoPad = node.string("auto_pad") ?? "NOTSET"
        for i in 0..<spatial {
            let extent = (kernel[i] - 1) * dilations[i] + 1
            let full = strides[i] * (x0.shape[i + 2] - 1) + outPad[i] + extent
            if let target = node.ints("output_shape").map({ Array($0.suffix(spatial)) }) {
                let total = full - target[i]
                let half = Int((Double(total) / 2).rounded(.down))
                pads[i] = autoPad == "SAME_UPPER" ? half : total - half
                pads[i + spatial] = total - pads[i]
            } else if autoPad == "SAME_UPPER" || autoPad == "SAME_LOWER" {
                let total = full - x0.shape[i + 2] * strides[i]
                pads[i] = autoPad == "SAME_UPPER" ? total / 2 : total - total / 2
                pads[i + spatial] = total - pads[i]
            }
            output[i] = full - pads[i] - pads[i + spatial]
        }
        let outShape = [n, oc] + output
        // oneDNN weights are [G, OC/G, IC/G, k…]; ONNX stores [IC, OC/G, k…]: describe it by strides.
        let kernelSize = kernel.reduce(1, *)
        let wDims = [group, oc / group, ic / group] + kernel
        let wStrides = [ic / group * (oc / group) * kernelSize, kernelSize, (oc / group) * kernelSize] + DataMovement.strides(kernel)
        var src = MemoryDesc.plain(x0.shape, any: true)
        var wei = MemoryDesc.plain(wDims, any: true)
        var dst = MemoryDesc.plain(outShape, any: true)
        var bias = MemoryDesc.plain([oc])
        let b0 = ins.count > 2 ? ins[2] : nil
        var desc = dnnl_deconvolution_desc_t()
        // Output padding is extra rows at the end: less padding removed there.
        let padEnd = (0..<spatial).map { Int64(pads[$0 + spatial] - outPad[$0]) }
        try withUnsafePointer(to: &bias) { biasPtr in
            try check(
                dnnl_dilated_deconvolution_forward_desc_init(
                    &desc,
                    dnnl_forward_inference,
                    dnnl_deconvolution_direct,
                    &src,
                    &wei,
                    b0 == nil ? nil : biasPtr,
                    &dst,
                    strides.map(Int64.init),
                    dilations.map { Int64($0 - 1) },
                    pads[..<spatial].map(Int64.init),
                    padEnd
                ),
                "deconvolution_forward_desc_init"
            )
        }
        let prim = try Primitive(desc: &desc, attr: try PrimitiveAttr())
        let x = try reorder(x0, to: prim.md(dnnl_query_src_md))
        let wPlain = try plain(w0)
        let wView = Value(name: wPlain.name, shape: wDims, type: .float32, md: .strided(wDims, strides: wStrides), constant: wPlain.constant)
        wView.share(wPlain)
        wView.constantBuffer = wPlain.constantBuffer
        let w = try reorder(wView, to: prim.md(dnnl_query_weights_md))
        var reads: [(Int32, Value)] = [(Arg.src, x), (Arg.weights, w)]
        if let b0 { reads.append((Arg.bias, try plain(b0))) }
        let out = newValue(node.outputs[0], shape: outShape, md: prim.md(dnnl_query_dst_md))
        emitPrimitive(node.name, prim, reads: reads, writes: [(Arg.dst, out)])
        define(node.outputs[0], out)
    }

    /// The same data seen with another (equal-count) shape; plain layouts only.
    func view(_ v: Value, as shape: [Int]) throws -> Value {
        if v.shape == shape { return v }
        if let c = v.constant {
            return Value(name: v.name, shape: shape, type: v.type, constant: Tensor(shape: shape, dataType: c.dataType, bytes: c.bytes))
        }
        let p = try plain(v)
        let out = Value(name: p.name, shape: shape, type: p.type)
        out.share(p)
        return out
    }

    func requireFloat(_ node: Node, _ values: Value...) throws {
        for v in values where v.type != .float32 { throw unsupported(node, "\(v.type) tensors (float32 only)") }
    }

    func unsupported(_ node: Node, _ reason: String) -> ModelError {
        .unsupported([UnsupportedNode(opType: node.opType, name: node.name, reason: reason)])
    }
}
