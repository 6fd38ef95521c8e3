/// The QOperator form of quantized models, rewritten at load time into the QDQ form: each
/// `QLinearX` becomes `DequantizeLinear` on its quantized inputs, the float `X`, and
/// `QuantizeLinear` on its result.
///
/// Why: the two forms mean the same arithmetic (ONNX defines `QLinearConv` as dequantize,
/// convolve, quantize), and one int8 path is easier to keep correct and fast than two. After the
/// rewrite the planner fuses the pattern into oneDNN int8 kernels where it can
/// (`Int8ConvPlanning`), and the reference kernels run the rest as ONNX defines it.
///
/// Rewritten: `QLinearConv` and `QLinearMatMul` (ONNX), and onnxruntime's `com.microsoft`
/// `QLinearAdd`, `QLinearMul`, `QLinearSigmoid`, `QLinearLeakyRelu`,
/// `QLinearGlobalAveragePool`, `QLinearAveragePool`, `QLinearConcat` (channels-first only),
/// `QLinearSoftmax` and `QGemm`, which its quantizer emits in QOperator models.
enum QOperators {
    static func lower(_ graph: inout Graph) {
        guard graph.nodes.contains(where: { $0.opType.hasPrefix("QLinear") || $0.opType == "QGemm" }) else { return }
        var rewritten: [Node] = []
        for (index, node) in graph.nodes.enumerated() {
            rewritten += lowered(node, at: index, &graph.constants, opset: graph.opset) ?? [node]
        }
        graph.nodes = rewritten
    }

    private static let microsoft: [String: String] = [
        "QLinearAdd": "Add", "QLinearMul": "Mul", "QLinearSigmoid": "Sigmoid", "QLinearLeakyRelu": "LeakyRelu",
        "QLinearGlobalAveragePool": "GlobalAveragePool", "QLinearAveragePool": "AveragePool", "QLinearConcat": "Concat",
    ]

    /// The QDQ nodes for `node`, or nil to keep it as it is (then validation names what is unsupported).
    private static func lowered(_ node: Node, at index: Int, _ constants: inout [String: Tensor], opset: Int) -> [Node]? {
        let isONNX = node.domain.isEmpty || node.domain == "ai.onnx"
        var b = Builder(node: node, prefix: "\(node.name)#\(index)")
        switch node.opType {
        case "QLinearConv" where isONNX && node.inputs.count >= 8:
            let x = b.dequantize(node.inputs[0], node.inputs[1], node.inputs[2])
            let w = b.dequantize(node.inputs[3], node.inputs[4], node.inputs[5], axis: 0)
            var inputs = [x, w]
            if let bias = node.input(8) {
                // The int32 bias is at the accumulator's scale, x_scale · w_scale (per output channel).
                inputs.append(b.dequantize(bias, b.product(node.inputs[1], node.inputs[4], &constants), "", axis: 0))
            }
            let y = b.float("Conv", inputs, attributes: node.attributes)
            b.quantize(y, node.inputs[6], node.inputs[7], into: node.outputs[0])
        case "QLinearMatMul" where isONNX && node.inputs.count >= 8:
            // A 1-D a_scale is per row of `a`, a 1-D b_scale per column of `b`.
            let a = b.dequantize(node.inputs[0], node.inputs[1], node.inputs[2], axis: -2)
            let m = b.dequantize(node.inputs[3], node.inputs[4], node.inputs[5], axis: -1)
            let y = b.float("MatMul", [a, m])
            b.quantize(y, node.inputs[6], node.inputs[7], into: node.outputs[0])
        case "QGemm" where node.domain == "com.microsoft" && node.inputs.count >= 6:
            // A, a_scale, a_zp, B, b_scale, b_zp, [C], [y_scale], [y_zp]. A 1-D b_scale is per column
            // of op(B): axis 1 of B as stored, or 0 when transB. The int32 C is at the scale
            // alpha · a_scale · b_scale; without y_scale the output is float.
            let transB = node.int("transB", default: 0) != 0
            let alpha = node.float("alpha", default: 1)
            let a = b.dequantize(node.inputs[0], node.inputs[1], node.inputs[2])
            let m = b.dequantize(node.inputs[3], node.inputs[4], node.inputs[5], axis: transB ? 0 : 1)
            var inputs = [a, m]
            if let bias = node.input(6) {
                inputs.append(b.dequantize(bias, b.product(node.inputs[1], node.inputs[4], times: alpha, &constants), "", axis: -1))
            }
            if let scale = node.input(7) {
                b.quantize(b.float("Gemm", inputs, attributes: node.attributes), scale, node.input(8) ?? "", into: node.outputs[0])
            } else {
                _ = b.float("Gemm", inputs, attributes: node.attributes, output: node.outputs[0])
            }
        case "QLinearSoftmax" where node.domain == "com.microsoft" && node.inputs.count >= 4:
            // X, X_scale, X_zp, Y_scale, Y_zp. `opset` says which Softmax it means (before 13: over
            // the 2-D flattening at `axis`); the float Softmax follows the graph's opset, so the
            // two must agree.
            guard (node.int("opset", default: opset) < 13) == (opset < 13) else { return nil }
            var attributes = node.attributes
            attributes["opset"] = nil
            let x = b.dequantize(node.inputs[0], node.inputs[1], node.inputs[2])
            b.quantize(b.float("Softmax", [x], attributes: attributes), node.inputs[3], node.input(4) ?? "", into: node.outputs[0])
        case let op where node.domain == "com.microsoft" && microsoft[op] != nil:
            guard node.int("channels_last", default: 0) == 0 else { return nil }
            var attributes = node.attributes
            attributes["channels_last"] = nil
            let float = microsoft[op]!
            switch op {
            case "QLinearAdd", "QLinearMul":  // A, A_scale, A_zp, B, B_scale, B_zp, C_scale, C_zp
                guard node.inputs.count >= 7 else { return nil }
                let l = b.dequantize(node.inputs[0], node.inputs[1], node.inputs[2])
                let r = b.dequantize(node.inputs[3], node.inputs[4], node.inputs[5])
                b.quantize(b.float(float, [l, r], attributes: attributes), node.inputs[6], node.input(7) ?? "", into: node.outputs[0])
            case "QLinearConcat":  // Y_scale, Y_zp, then (X, X_scale, X_zp) per input
                guard node.inputs.count >= 5, (node.inputs.count - 2) % 3 == 0 else { return nil }
                let parts = stride(from: 2, to: node.inputs.count, by: 3).map { b.dequantize(node.inputs[$0], node.inputs[$0 + 1], node.inputs[$0 + 2]) }
                b.quantize(b.float(float, parts, attributes: attributes), node.inputs[0], node.inputs[1], into: node.outputs[0])
            default:  // X, X_scale, X_zp, Y_scale, Y_zp
                guard node.inputs.count >= 4 else { return nil }
                let x = b.dequantize(node.inputs[0], node.inputs[1], node.inputs[2])
                b.quantize(b.float(float, [x], attributes: attributes), node.inputs[3], node.input(4) ?? "", into: node.outputs[0])
            }
        default:
            return nil
        }
        return b.nodes
    }

    /// Emits the replacement nodes, named after the node they replace and its position (node
    /// names need not be unique; the values they make must be).
    private struct Builder {
        let node: Node
        let prefix: String
        var nodes: [Node] = []

        private mutating func emit(_ opType: String, _ inputs: [String], _ attributes: [String: Attribute] = [:], output: String? = nil) -> String {
            let name = output ?? "\(prefix)/\(nodes.count)/\(opType)"
            nodes.append(Node(opType: opType, name: "\(prefix)/\(opType)_\(nodes.count)", domain: "", inputs: inputs, outputs: [name], attributes: attributes))
            return name
        }

        mutating func dequantize(_ x: String, _ scale: String, _ zero: String, axis: Int? = nil) -> String {
            emit("DequantizeLinear", zero.isEmpty ? [x, scale] : [x, scale, zero], axis.map { ["axis": .int($0)] } ?? [:])
        }

        mutating func float(_ opType: String, _ inputs: [String], attributes: [String: Attribute] = [:], output: String? = nil) -> String {
            emit(opType, inputs, attributes, output: output)
        }

        mutating func quantize(_ y: String, _ scale: String, _ zero: String, into output: String) {
            _ = emit("QuantizeLinear", zero.isEmpty ? [y, scale] : [y, scale, zero], output: output)
        }

        /// `a · b · factor` as `Mul` nodes; when `a` and `b` are constants (scales), planning
        /// folds them into the one constant the int8 kernels need as the bias's scale.
        mutating func product(_ a: String, _ b: String, times factor: Float = 1, _ constants: inout [String: Tensor]) -> String {
            let product = emit("Mul", [a, b])
            guard factor != 1 else { return product }
            let name = "\(prefix)/alpha"
            constants[name] = Tensor(shape: [], floats: [factor])
            return emit("Mul", [product, name])
        }
    }
}
