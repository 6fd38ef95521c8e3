import CDNNL

extension Planner {
    /// MaxPool, AveragePool and their global forms as oneDNN pooling. MaxPool also on u8 and s8
    /// (ONNX allows it, and QOperator models pool their quantized tensors directly): the maximum
    /// of quantized values is the quantized maximum, so it needs no scale.
    func planPool(_ node: Node, _ x: Value) throws {
        let quantized = x.type == .uint8 || x.type == .int8
        if !(quantized && node.opType == "MaxPool") { try requireFloat(node, x) }
        let rank = x.shape.count
        guard (3...5).contains(rank) else { throw unsupported(node, "pooling on rank \(rank)") }
        if node.outputs.count > 1, !node.outputs[1].isEmpty { throw unsupported(node, "the Indices output") }
        let spatial = Array(x.shape[2...])
        let global = node.opType.hasPrefix("Global")
        let win: Window
        if global {
            var g = node
            g.attributes = [:]
            win = try Window(g, input: spatial, kernel: spatial)
        } else {
            guard let kernel = node.ints("kernel_shape") else { throw KernelError("\(node.opType) needs kernel_shape") }
            win = try Window(node, input: spatial, kernel: kernel, ceilMode: node.int("ceil_mode", default: 0) == 1)
        }
        let alg: dnnl_alg_kind_t =
            if node.opType.hasSuffix("MaxPool") { dnnl_pooling_max } else if node.int("count_include_pad", default: 0) == 1 {
                dnnl_pooling_avg_include_padding
            } else { dnnl_pooling_avg_exclude_padding }
        let outShape = Array(x.shape[..<2]) + win.output
        // Activations after a quantized pool would act on the integers, not the values they mean.
        let chain = quantized ? FusionChain(output: node.outputs[0]) : fusionChain(after: node.outputs[0], shape: outShape, allowSum: false)
        var src = x.md
        var dst = MemoryDesc.plain(outShape, type: x.type.dnnl, any: true)
        var desc = dnnl_pooling_v2_desc_t()
        try check(
            dnnl_pooling_v2_forward_desc_init(
                &desc,
                dnnl_forward_inference,
                alg,
                &src,
                &dst,
                win.strides.map(Int64.init),
                win.kernel.map(Int64.init),
                win.dnnlDilations,
                win.padBegin.map(Int64.init),
                win.dnnlPadEnd.map(Int64.init)
            ),
            "pooling_v2_forward_desc_init"
        )
        let attr = try PrimitiveAttr()
        try attr.setPostOps(chain.ops)
        let prim = try Primitive(desc: &desc, attr: attr)
        let out = newValue(chain.output, shape: outShape, type: x.type, md: prim.md(dnnl_query_dst_md))
        var writes = [(Arg.dst, out)]
        let ws = prim.md(dnnl_query_workspace_md)
        if ws.byteSize > 0 { writes.append((Arg.workspace, newValue(internalName("workspace"), shape: [ws.byteSize / 4], md: ws))) }
        emitPrimitive(node.name, prim, reads: [(Arg.src, x)], writes: writes)
        finishFusion(chain, out)
    }

    func planLRN(_ node: Node, _ x: Value) throws {
        try requireFloat(node, x)
        guard let size = node.int("size"), size % 2 == 1 else { throw unsupported(node, "an even window size") }
        var md = x.md
        var desc = dnnl_lrn_desc_t()
        try check(
            dnnl_lrn_forward_desc_init(
                &desc,
                dnnl_forward_inference,
                dnnl_lrn_across_channels,
                &md,
                Int64(size),
                node.float("alpha", default: 1e-4),
                node.float("beta", default: 0.75),
                node.float("bias", default: 1)
            ),
            "lrn_forward_desc_init"
        )
        let prim = try Primitive(desc: &desc)
        let out = newValue(node.outputs[0], shape: x.shape, md: prim.md(dnnl_query_dst_md))
        var writes = [(Arg.dst, out)]
        let ws = prim.md(dnnl_query_workspace_md)
        if ws.byteSize > 0 { writes.append((Arg.workspace, newValue(internalName("workspace"), shape: [ws.byteSize / 4], md: ws))) }
        emitPrimitive(node.name, prim, reads: [(Arg.src, x)], writes: writes)
        define(node.outputs[0], out)
    }

    /// Inference BatchNormalization that did not fold into a Conv.
    func planBatchNorm(_ node: Node, _ ins: [Value?]) throws {
        guard ins.count >= 5, let x = ins[0], let scale = ins[1], let shift = ins[2], let mean = ins[3], let variance = ins[4] else {
            throw KernelError("BatchNormalization needs 5 inputs")
        }
        try requireFloat(node, x, scale, shift, mean, variance)
        if node.int("training_mode", default: 0) == 1 { throw unsupported(node, "training_mode") }
        if node.outputs.count > 1, node.outputs.dropFirst().contains(where: { !$0.isEmpty }) { throw unsupported(node, "training outputs") }
        guard x.shape.count >= 2 else { throw KernelError("BatchNormalization needs rank ≥ 2") }
        var md = x.md
        var desc = dnnl_batch_normalization_desc_t()
        let flags = dnnl_use_global_stats.rawValue | dnnl_use_scale.rawValue | dnnl_use_shift.rawValue
        try check(
            dnnl_batch_normalization_forward_desc_init(&desc, dnnl_forward_inference, &md, node.float("epsilon", default: 1e-5), flags),
            "batch_normalization_forward_desc_init"
        )
        var chain = fusionChain(after: node.outputs[0], shape: x.shape, allowSum: false)
        let prim: Primitive
        do {
            let attr = try PrimitiveAttr()
            try attr.setPostOps(chain.ops)
            prim = try Primitive(desc: &desc, attr: attr)
        } catch where !chain.ops.isEmpty {
            // oneDNN's batch norm takes few post-ops (not HardSwish, say): then the activation runs alone.
            chain = FusionChain(output: node.outputs[0])
            prim = try Primitive(desc: &desc)
        }
        let out = newValue(chain.output, shape: x.shape, md: prim.md(dnnl_query_dst_md))
        let reads = [
            (Arg.src, x), (Arg.mean, try plain(mean)), (Arg.variance, try plain(variance)),
            (Int32(51), try plain(scale)), (Int32(52), try plain(shift)),
        ]
        emitPrimitive(node.name, prim, reads: reads, writes: [(Arg.dst, out)])
        finishFusion(chain, out)
    }
}
