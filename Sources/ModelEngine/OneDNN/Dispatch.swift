extension Planner {
    /// Plans `node` with a oneDNN primitive; false when it should run as a reference kernel.
    func planOneDNN(_ node: Node, _ ins: [Value?], index: Int) throws -> Bool {
        let x = ins.first ?? nil
        switch node.opType {
        case "Conv": try planConv(node, ins)
        case "ConvTranspose": try planConvTranspose(node, ins)
        case "MaxPool", "AveragePool", "GlobalAveragePool", "GlobalMaxPool": try planPool(node, try need(x, node))
        case "LRN": try planLRN(node, try need(x, node))
        case "BatchNormalization": try planBatchNorm(node, ins)
        case "MatMul": try planMatMul(node, try need(x, node), try need(ins.count > 1 ? ins[1] : nil, node))
        case "Gemm": try planGemm(node, ins)
        case "Add", "Sub", "Mul", "Div":
            return try planBinary(node, try need(x, node), try need(ins.count > 1 ? ins[1] : nil, node))
        case "Concat":
            return try planConcat(node, ins.compactMap { $0 })
        case "QuantizeLinear", "DequantizeLinear":
            return try planQuantize(node, ins)
        default:
            guard let ops = eltwiseOps(node), let x, x.type == .float32 else {
                if node.opType == "Clip" { return false }  // runtime bounds or integer data: reference kernel
                if Operators.eltwiseNames.contains(node.opType) {
                    throw unsupported(node, "\(x?.type.description ?? "missing") input (float32 only)")
                }
                return false
            }
            try planEltwise(node, x, ops)
        }
        return true
    }

    private func need(_ v: Value?, _ node: Node) throws -> Value {
        guard let v else { throw KernelError("\(node.opType) is missing an input") }
        return v
    }
}
