import Foundation

/// `QuantizeLinear`, `DequantizeLinear` and `DynamicQuantizeLinear` as ONNX defines them
/// (opsets 10–21): per tensor, per axis (a 1-D scale) or in blocks along an axis (`block_size`);
/// 8- and 16-bit integers, and int32 for dequantizing a bias. Not the float8/int4 types.
///
/// These are the reference semantics: constant weights of a QDQ model are dequantized once while
/// planning (constant folding), and activations' quantize/dequantize pairs run here.
///
/// ```swift
/// // y = saturate(round(x / scale) + zero_point), ties to even
/// let q = try Quantization.quantize(node, x, scale: s, zeroPoint: zp)
/// ```
enum Quantization {
    /// `(x - zero_point) * scale`, in the scale's float type.
    static func dequantize(_ node: Node, _ x: Tensor, scale: Tensor, zeroPoint: Tensor?) throws -> Tensor {
        guard let q = x.integers else { throw unsupported(node, "dequantizing \(x.dataType)") }
        let layout = try Layout(node, shape: x.shape, scale: scale, zeroPoint: zeroPoint)
        var out = [Float](repeating: 0, count: q.count)
        for i in 0..<q.count {
            let c = layout.channel(i)
            out[i] = Float(q[i] - layout.zeroPoints[c]) * layout.scales[c]
        }
        return Arithmetic.tensor(x.shape, scale.dataType == .float16 ? .float16 : .float32, doubles: out.map(Double.init))
    }

    /// `saturate(round(x / scale) + zero_point)`, rounding half to even, in the zero point's type
    /// (or `output_dtype`, or uint8).
    static func quantize(_ node: Node, _ x: Tensor, scale: Tensor, zeroPoint: Tensor?) throws -> Tensor {
        let type = try outputType(node, zeroPoint)
        let (lo, hi) = range(type)
        let layout = try Layout(node, shape: x.shape, scale: scale, zeroPoint: zeroPoint)
        let v = x.dataType == .float32 ? x.floats : Arithmetic.doubles(x).map(Float.init)
        var out = [Int64](repeating: 0, count: v.count)
        for i in 0..<v.count {
            let c = layout.channel(i)
            let r = (v[i] / layout.scales[c]).rounded(.toNearestOrEven)
            // NaN and infinities saturate as onnxruntime does: NaN to the zero point.
            let shifted = r.isNaN ? Double(layout.zeroPoints[c]) : Double(r) + Double(layout.zeroPoints[c])
            out[i] = Int64(min(max(shifted, Double(lo)), Double(hi)))
        }
        return Arithmetic.tensor(x.shape, type, ints: out)
    }

    /// uint8 quantization with the scale and zero point taken from the data: [y, scale, zero point].
    static func dynamicQuantize(_ x: Tensor) -> [Tensor] {
        let v = x.floats
        let lo = min(0, v.min() ?? 0)
        let hi = max(0, v.max() ?? 0)
        let scale = (hi - lo) / 255
        let zeroPoint = scale == 0 ? 0 : min(max((0 - lo / scale).rounded(.toNearestOrEven), 0), 255)
        let y = v.map { scale == 0 ? 0 : Int64(min(max(($0 / scale).rounded(.toNearestOrEven) + zeroPoint, 0), 255)) }
        return [
            Arithmetic.tensor(x.shape, .uint8, ints: y),
            Tensor(shape: [], floats: [scale]),
            Arithmetic.tensor([], .uint8, ints: [Int64(zeroPoint)]),
        ]
    }

    /// Per-tensor, per-axis or blocked scales and zero points, and which one each element uses.
    struct Layout {
        var scales: [Float]
        var zeroPoints: [Int]
        /// The quantized axis: elements between two of its steps, its length, its length in
        /// the scale (fewer when blocked), and the block (1 per axis; 0 per tensor).
        var inner = 1
        var length = 1
        var scaleLength = 1
        var block = 0

        init(_ node: Node, shape: [Int], scale: Tensor, zeroPoint: Tensor?) throws {
            scales = scale.dataType == .float32 ? scale.floats : Arithmetic.doubles(scale).map(Float.init)
            zeroPoints = zeroPoint.map { $0.integers ?? [] } ?? [Int](repeating: 0, count: scales.count)
            guard zeroPoints.count == scales.count, !scales.isEmpty else {
                throw KernelError("\(node.opType): \(scales.count) scales and \(zeroPoints.count) zero points")
            }
            let blockSize = node.int("block_size", default: 0)
            guard scales.count > 1 || blockSize > 0 else { return }
            var axis = node.int("axis", default: 1)
            if axis < 0 { axis += shape.count }
            guard (0..<shape.count).contains(axis) else { throw KernelError("\(node.opType): axis \(axis) of \(shape)") }
            inner = shape[(axis + 1)...].reduce(1, *)
            length = shape[axis]
            if blockSize > 0 {
                // The scale has the input's shape but for the axis, which counts blocks.
                let blocks = (length + blockSize - 1) / blockSize
                var expected = shape
                expected[axis] = blocks
                guard scale.shape == expected else { throw KernelError("\(node.opType): scale \(scale.shape) for blocks of \(blockSize) of \(shape)") }
                scaleLength = blocks
                block = blockSize
            } else {
                guard scale.shape.count == 1, shape[axis] == scales.count else {
                    throw KernelError("\(node.opType): \(scales.count) scales for axis \(axis) of \(shape)")
                }
                scaleLength = length
                block = 1
            }
        }

        /// The index of the scale and zero point element `i` uses.
        func channel(_ i: Int) -> Int {
            if block == 0 { return 0 }
            let along = (i / inner) % length
            if block == 1 { return along }
            return (i / (inner * length) * scaleLength + along / block) * inner + i % inner
        }
    }

    static func outputType(_ node: Node, _ zeroPoint: Tensor?) throws -> DataType {
        if let zeroPoint { return zeroPoint.dataType }
        let requested = node.int("output_dtype", default: 0)
        guard requested != 0 else { return .uint8 }
        guard let type = DataType(rawValue: Int32(requested)), [.uint8, .int8, .uint16, .int16].contains(type) else {
            throw unsupported(node, "output_dtype \(requested)")
        }
        return type
    }

    static func range(_ type: DataType) -> (Int64, Int64) {
        switch type {
        case .int8: (-128, 127)
        case .uint16: (0, 65535)
        case .int16: (-32768, 32767)
        case .int32: (Int64(Int32.min), Int64(Int32.max))
        default: (0, 255)
        }
    }

    static func unsupported(_ node: Node, _ reason: String) -> ModelError {
        .unsupported([UnsupportedNode(opType: node.opType, name: node.name, reason: reason)])
    }
}
