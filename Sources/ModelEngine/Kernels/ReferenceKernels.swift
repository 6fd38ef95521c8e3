import Foundation

/// Plain Swift kernels for data-movement and shape operators, for anything not worth a oneDNN
/// primitive, and for folding constants while planning. They work on row-major ``Tensor``s.
enum ReferenceKernels {
    static let operators: Set<String> = [
        "Identity", "Dropout", "Reshape", "Flatten", "Squeeze", "Unsqueeze", "Transpose", "Concat",
        "Gather", "Slice", "Pad", "Cast", "Shape", "ConstantOfShape", "Softmax", "LogSoftmax",
        "ReduceMean", "ReduceSum", "ReduceMax", "ReduceMin",
        "Add", "Sub", "Mul", "Div", "Sum", "Max", "Min", "Neg", "Sqrt", "Exp", "Round", "Equal", "Less", "Greater", "Clip",
        "QuantizeLinear", "DequantizeLinear", "DynamicQuantizeLinear",
    ]

    static func supports(_ op: String) -> Bool { operators.contains(op) }

    static func run(_ node: Node, _ inputs: [Tensor?], opset: Int) throws -> [Tensor] {
        func input(_ i: Int) throws -> Tensor {
            guard i < inputs.count, let t = inputs[i] else { throw KernelError("\(node.opType) needs input \(i)") }
            return t
        }
        func optional(_ i: Int) -> Tensor? { i < inputs.count ? inputs[i] : nil }
        switch node.opType {
        case "Identity": return [try input(0)]
        case "Dropout":
            let x = try input(0)
            let training = inputs.count > 2 ? inputs[2]?.bytes.first ?? 0 : 0
            let ratio = inputs.count > 1 ? inputs[1].map { Arithmetic.doubles($0).first ?? 0.5 } ?? 0.5 : 0.5
            if training != 0 && ratio != 0 { throw KernelError("Dropout in training mode") }
            var outs = [x]
            if node.outputs.count > 1 { outs.append(Tensor(shape: x.shape, dataType: .bool, bytes: [UInt8](repeating: 1, count: x.count))) }
            return outs
        case "Reshape", "Flatten", "Squeeze", "Unsqueeze":
            let x = try input(0)
            return [Tensor(shape: try reshapedShape(node, x.shape, optional(1), opset: opset), dataType: x.dataType, bytes: x.bytes)]
        case "Shape": return [shape(try input(0).shape, node)]
        case "QuantizeLinear": return [try Quantization.quantize(node, try input(0), scale: try input(1), zeroPoint: optional(2))]
        case "DequantizeLinear": return [try Quantization.dequantize(node, try input(0), scale: try input(1), zeroPoint: optional(2))]
        case "DynamicQuantizeLinear":
            let x = try input(0)
            guard x.dataType == .float32 else { throw KernelError("DynamicQuantizeLinear takes float32") }
            return Quantization.dynamicQuantize(x)
        case "Transpose": return [try DataMovement.transpose(try input(0), perm: node.ints("perm"))]
        case "Concat": return [try DataMovement.concat(inputs.compactMap { $0 }, axis: node.int("axis", default: 0))]
        case "Gather": return [try DataMovement.gather(try input(0), indices: try input(1), axis: node.int("axis", default: 0))]
        case "Slice": return [try DataMovement.slice(node, try input(0), inputs, opset: opset)]
        case "Pad": return [try DataMovement.pad(node, try input(0), inputs, opset: opset)]
        case "Cast":
            guard let to = node.int("to").flatMap({ DataType(rawValue: Int32($0)) }) else { throw KernelError("Cast: unsupported target type") }
            return [try Arithmetic.cast(try input(0), to: to)]
        case "ConstantOfShape":
            let dims = try input(0).integers ?? []
            let value = node.tensor("value") ?? Tensor(shape: [1], floats: [0])
            return [filled(dims, with: value)]
        case "Softmax", "LogSoftmax":
            return [
                try Reductions.softmax(
                    try input(0),
                    axis: node.int("axis", default: opset >= 13 ? -1 : 1),
                    legacy: opset < 13,
                    log: node.opType == "LogSoftmax"
                )
            ]
        case "ReduceMean", "ReduceSum", "ReduceMax", "ReduceMin":
            return [try Reductions.reduce(node, try input(0), axesInput: optional(1), opset: opset)]
        case "Clip":
            // Runtime bounds (constant bounds run as a oneDNN eltwise instead).
            var x = try input(0)
            if opset < 11 {
                if x.dataType == .float32 {
                    x = try Arithmetic.binary("Max", x, Tensor(shape: [], floats: [node.float("min", default: -.greatestFiniteMagnitude)]))
                    x = try Arithmetic.binary("Min", x, Tensor(shape: [], floats: [node.float("max", default: .greatestFiniteMagnitude)]))
                }
                return [x]
            }
            if let lo = optional(1) { x = try Arithmetic.binary("Max", x, lo) }
            if let hi = optional(2) { x = try Arithmetic.binary("Min", x, hi) }
            return [x]
        case "Neg", "Sqrt", "Exp", "Round":
            return [try Arithmetic.unary(node.opType, try input(0))]
        default:
            let present = inputs.compactMap { $0 }
            guard let first = present.first else { throw KernelError("\(node.opType) needs inputs") }
            return [try present.dropFirst().reduce(first) { try Arithmetic.binary(node.opType == "Sum" ? "Add" : node.opType, $0, $1) }]
        }
    }

    /// A tensor of `shape` with every element equal to the one-element `value`.
    static func filled(_ shape: [Int], with value: Tensor) -> Tensor {
        let n = shape.reduce(1, *)
        let size = value.dataType.size
        var bytes = [UInt8](repeating: 0, count: n * size)
        bytes.withUnsafeMutableBytes { out in
            value.bytes.withUnsafeBytes { v in
                switch size {
                case 8: out.bindMemory(to: UInt64.self).update(repeating: v.load(as: UInt64.self))
                case 4: out.bindMemory(to: UInt32.self).update(repeating: v.load(as: UInt32.self))
                case 2: out.bindMemory(to: UInt16.self).update(repeating: v.load(as: UInt16.self))
                default: out.bindMemory(to: UInt8.self).update(repeating: v[0])
                }
            }
        }
        return Tensor(shape: shape, dataType: value.dataType, bytes: bytes)
    }

    static func shape(_ dims: [Int], _ node: Node) -> Tensor {
        let rank = dims.count
        func clamp(_ i: Int) -> Int { min(max(i < 0 ? i + rank : i, 0), rank) }
        let start = clamp(node.int("start", default: 0))
        let end = clamp(node.int("end", default: rank))
        let slice = start < end ? Array(dims[start..<end]) : []
        return Tensor(shape: [slice.count], int64s: slice.map(Int64.init))
    }

    /// The output shape of Reshape, Flatten, Squeeze and Unsqueeze.
    static func reshapedShape(_ node: Node, _ shape: [Int], _ second: Tensor?, opset: Int) throws -> [Int] {
        let count = shape.reduce(1, *)
        switch node.opType {
        case "Reshape":
            guard let target = second?.integers ?? node.ints("shape") else { throw KernelError("Reshape needs a shape") }
            let allowZero = node.int("allowzero", default: 0) == 1
            var out = target.enumerated().map { i, d in d == 0 && !allowZero && i < shape.count ? shape[i] : d }
            if let infer = out.firstIndex(of: -1) {
                let known = out.enumerated().filter { $0.offset != infer }.reduce(1) { $0 * $1.element }
                guard known > 0, count % known == 0 else { throw KernelError("Reshape: cannot infer -1 for \(shape) → \(target)") }
                out[infer] = count / known
            }
            guard out.reduce(1, *) == count else { throw KernelError("Reshape: \(shape) cannot become \(target)") }
            return out
        case "Flatten":
            var axis = node.int("axis", default: 1)
            if axis < 0 { axis += shape.count }
            guard axis >= 0, axis <= shape.count else { throw KernelError("Flatten: axis out of range") }
            return [shape[..<axis].reduce(1, *), shape[axis...].reduce(1, *)]
        case "Squeeze":
            let axes = (second?.integers ?? node.ints("axes")).map { $0.map { $0 < 0 ? $0 + shape.count : $0 } }
            if let axes {
                guard axes.allSatisfy({ $0 >= 0 && $0 < shape.count && shape[$0] == 1 }) else {
                    throw KernelError("Squeeze: bad axes \(axes) for \(shape)")
                }
                return shape.enumerated().filter { !axes.contains($0.offset) }.map(\.element)
            }
            return shape.filter { $0 != 1 }
        default:  // Unsqueeze
            guard let raw = second?.integers ?? node.ints("axes") else { throw KernelError("Unsqueeze needs axes") }
            let rank = shape.count + raw.count
            let axes = Set(raw.map { $0 < 0 ? $0 + rank : $0 })
            guard axes.count == raw.count, axes.allSatisfy({ $0 >= 0 && $0 < rank }) else { throw KernelError("Unsqueeze: bad axes \(raw)") }
            var it = shape.makeIterator()
            return (0..<rank).map { axes.contains($0) ? 1 : it.next()! }
        }
    }
}

struct KernelError: Error, CustomStringConvertible {
    let description: String
    init(_ d: String) { description = d }
}
