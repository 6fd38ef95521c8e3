import Foundation

/// Softmax and the Reduce* family on row-major tensors.
enum Reductions {
    static func softmax(_ x: Tensor, axis rawAxis: Int, legacy: Bool, log: Bool) throws -> Tensor {
        guard x.dataType == .float32 else { throw KernelError("Softmax needs float32") }
        let rank = x.shape.count
        let axis = rawAxis < 0 ? rawAxis + rank : rawAxis
        guard axis >= 0, axis < max(rank, 1) else { throw KernelError("Softmax: axis \(rawAxis) out of range") }
        // Opset < 13 flattens to 2-D at `axis`; 13+ normalizes along one axis.
        let outer = x.shape[..<axis].reduce(1, *)
        let n = legacy ? x.shape[axis...].reduce(1, *) : x.shape[axis]
        let inner = legacy ? 1 : x.shape[(axis + 1)...].reduce(1, *)
        var v = x.floats
        guard n > 0 else { return x }
        for o in 0..<outer {
            for i in 0..<inner {
                let base = o * n * inner + i
                var m = -Float.infinity
                for k in 0..<n { m = max(m, v[base + k * inner]) }
                var sum: Float = 0
                for k in 0..<n { sum += Foundation.exp(v[base + k * inner] - m) }
                for k in 0..<n {
                    let idx = base + k * inner
                    v[idx] = log ? (v[idx] - m - Foundation.log(sum)) : Foundation.exp(v[idx] - m) / sum
                }
            }
        }
        return Tensor(shape: x.shape, floats: v)
    }

    static func reduce(_ node: Node, _ x: Tensor, axesInput: Tensor?, opset: Int) throws -> Tensor {
        let rank = x.shape.count
        let keep = node.int("keepdims", default: 1) == 1
        var axes = (axesInput?.integers ?? node.ints("axes") ?? []).map { $0 < 0 ? $0 + rank : $0 }
        if axes.isEmpty {
            if node.int("noop_with_empty_axes", default: 0) == 1 { return x }
            axes = Array(0..<rank)
        }
        guard axes.allSatisfy({ $0 >= 0 && $0 < rank }) else { throw KernelError("\(node.opType): axes out of range") }
        let reduced = Set(axes)
        let outShape = x.shape.enumerated().compactMap { reduced.contains($0.offset) ? (keep ? 1 : nil) : $0.element }
        let keptShape = x.shape.enumerated().map { reduced.contains($0.offset) ? 1 : $0.element }
        let values = Arithmetic.doubles(x)
        let n = keptShape.reduce(1, *)
        let op = node.opType
        let isBool = x.dataType == .bool
        let initial: Double =
            switch op {
            case "ReduceMax": isBool ? 0 : -.infinity
            case "ReduceMin": isBool ? 1 : .infinity
            default: 0
            }
        var acc = [Double](repeating: initial, count: n)
        let map = Arithmetic.broadcastIndices(keptShape, to: x.shape)
        for (i, v) in values.enumerated() {
            let j = map[i]
            switch op {
            case "ReduceMax": acc[j] = max(acc[j], v)
            case "ReduceMin": acc[j] = min(acc[j], v)
            default: acc[j] += v
            }
        }
        if op == "ReduceMean" {
            let count = Double(x.count / max(n, 1))
            acc = acc.map { count > 0 ? $0 / count : .nan }
        }
        if x.dataType == .float32 && op != "ReduceMean" && op != "ReduceSum" {
            return Tensor(shape: outShape, floats: acc.map(Float.init))
        }
        return Arithmetic.tensor(outShape, x.dataType, doubles: acc)
    }
}
