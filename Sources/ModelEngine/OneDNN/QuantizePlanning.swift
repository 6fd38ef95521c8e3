import CDNNL

extension Planner {
    /// `QuantizeLinear` / `DequantizeLinear` of an activation with one constant scale and zero
    /// point (what QDQ models put between layers): a oneDNN reorder with an output scale and a
    /// zero point, in whatever layout the value already has — no round trip through row-major,
    /// as the reference kernel would need — except that a plain 4-D float tensor is quantized
    /// into channels-last. Per-axis or blocked ones (weights, folded while
    /// planning) and 16-bit types are left to the reference kernel: returns false.
    ///
    /// oneDNN computes `saturate(round(x · (1/scale)) + zero_point)`, the reference
    /// `saturate(round(x / scale) + zero_point)`: the two can differ by one step where x / scale
    /// is within an ulp of a rounding boundary (covered by the quantized models' tolerance).
    func planQuantize(_ node: Node, _ ins: [Value?]) throws -> Bool {
        guard let x = ins.first ?? nil, x.constant == nil, ins.count > 1, let s = ins[1]?.constant, s.count == 1,
            s.dataType == .float32, node.int("block_size", default: 0) == 0
        else { return false }
        let zeroPoint = ins.count > 2 ? ins[2] : nil
        if let zeroPoint, zeroPoint.constant == nil || zeroPoint.count != 1 { return false }
        let zp = Int32(zeroPoint?.constant?.integers?.first ?? 0)
        let scale = s.floats[0]
        guard scale.isFinite, scale > 0, (1 / scale).isFinite else { return false }
        let attr = try PrimitiveAttr()
        let out: Value
        if node.opType == "QuantizeLinear" {
            let type = try Quantization.outputType(node, zeroPoint?.constant)
            guard x.type == .float32, type == .uint8 || type == .int8 else { return false }
            try attr.setOutputScale(1 / scale)
            try attr.setZeroPoint(Arg.dst, zp)
            // A plain NCHW activation (typically the model's input) is quantized straight into
            // channels-last, where an int8 convolution reading it wants it: one reorder, not two.
            let md = x.shape.count == 4 && x.md.isPlain ? MemoryDesc.channelsLast(x.shape, type: type.dnnl) : x.md.with(type: type.dnnl)
            out = newValue(node.outputs[0], shape: x.shape, type: type, md: md)
        } else {
            guard x.type == .uint8 || x.type == .int8 else { return false }
            try attr.setOutputScale(scale)
            try attr.setZeroPoint(Arg.src, zp)
            out = newValue(node.outputs[0], shape: x.shape, type: .float32, md: x.md.with(type: dnnl_f32))
        }
        let prim = try Primitive.reorder(from: x.md, to: out.md, attr: attr)
        emitPrimitive(node.name, prim, reads: [(Arg.src, x)], writes: [(Arg.dst, out)])
        define(node.outputs[0], out)
        return true
    }
}
