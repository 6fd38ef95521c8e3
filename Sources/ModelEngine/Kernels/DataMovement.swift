/// Byte-level kernels that move elements without arithmetic: transpose, concat, gather, slice, pad.
enum DataMovement {
    static func strides(_ shape: [Int]) -> [Int] {
        var s = [Int](repeating: 1, count: shape.count)
        for i in stride(from: shape.count - 2, through: 0, by: -1) { s[i] = s[i + 1] * shape[i + 1] }
        return s
    }

    /// Copies `out.count` elements where output element i comes from input element `index(i)`.
    static func gatherElements(_ x: Tensor, shape: [Int], index: (_ outCoord: [Int]) -> Int?) -> Tensor {
        let size = x.dataType.size
        let n = shape.reduce(1, *)
        var bytes = [UInt8](repeating: 0, count: n * size)
        var coord = [Int](repeating: 0, count: shape.count)
        x.bytes.withUnsafeBytes { src in
            bytes.withUnsafeMutableBytes { dst in
                for i in 0..<n {
                    if let j = index(coord) {
                        dst.baseAddress!.advanced(by: i * size).copyMemory(from: src.baseAddress!.advanced(by: j * size), byteCount: size)
                    }
                    var d = shape.count - 1
                    while d >= 0 {
                        coord[d] += 1
                        if coord[d] < shape[d] { break }
                        coord[d] = 0
                        d -= 1
                    }
                }
            }
        }
        return Tensor(shape: shape, dataType: x.dataType, bytes: bytes)
    }

    static func transpose(_ x: Tensor, perm: [Int]?) throws -> Tensor {
        let perm = perm ?? Array((0..<x.shape.count).reversed())
        guard perm.sorted() == Array(0..<x.shape.count) else { throw KernelError("Transpose: bad perm \(perm)") }
        let inStrides = strides(x.shape)
        let outShape = perm.map { x.shape[$0] }
        let s = perm.map { inStrides[$0] }
        return gatherElements(x, shape: outShape) { c in zip(c, s).reduce(0) { $0 + $1.0 * $1.1 } }
    }

    static func concat(_ xs: [Tensor], axis rawAxis: Int) throws -> Tensor {
        guard let first = xs.first else { throw KernelError("Concat needs inputs") }
        let rank = first.shape.count
        let axis = rawAxis < 0 ? rawAxis + rank : rawAxis
        guard axis >= 0, axis < rank else { throw KernelError("Concat: axis \(rawAxis) out of range") }
        for x in xs {
            guard x.shape.count == rank, x.dataType == first.dataType,
                zip(x.shape, first.shape).enumerated().allSatisfy({ $0.offset == axis || $0.element.0 == $0.element.1 })
            else { throw KernelError("Concat: incompatible shapes \(xs.map(\.shape))") }
        }
        var outShape = first.shape
        outShape[axis] = xs.reduce(0) { $0 + $1.shape[axis] }
        let outer = first.shape[..<axis].reduce(1, *)
        var bytes: [UInt8] = []
        bytes.reserveCapacity(outShape.reduce(1, *) * first.dataType.size)
        for o in 0..<outer {
            for x in xs {
                let chunk = x.shape[axis...].reduce(1, *) * x.dataType.size
                bytes += x.bytes[(o * chunk)..<((o + 1) * chunk)]
            }
        }
        return Tensor(shape: outShape, dataType: first.dataType, bytes: bytes)
    }

    static func gather(_ x: Tensor, indices: Tensor, axis rawAxis: Int) throws -> Tensor {
        let axis = rawAxis < 0 ? rawAxis + x.shape.count : rawAxis
        guard axis >= 0, axis < x.shape.count, let idx = indices.integers else { throw KernelError("Gather: bad axis or indices") }
        let n = x.shape[axis]
        let resolved = try idx.map { i -> Int in
            let j = i < 0 ? i + n : i
            guard j >= 0, j < n else { throw KernelError("Gather: index \(i) out of range for dimension \(n)") }
            return j
        }
        let outer = x.shape[..<axis].reduce(1, *)
        let inner = x.shape[(axis + 1)...].reduce(1, *) * x.dataType.size
        var bytes: [UInt8] = []
        bytes.reserveCapacity(outer * resolved.count * inner)
        for o in 0..<outer {
            for j in resolved {
                let start = (o * n + j) * inner
                bytes += x.bytes[start..<(start + inner)]
            }
        }
        let shape = Array(x.shape[..<axis]) + indices.shape + Array(x.shape[(axis + 1)...])
        return Tensor(shape: shape, dataType: x.dataType, bytes: bytes)
    }

    static func slice(_ node: Node, _ x: Tensor, _ inputs: [Tensor?], opset: Int) throws -> Tensor {
        let rank = x.shape.count
        let starts: [Int]
        let ends: [Int]
        let axesRaw: [Int]?
        let steps: [Int]?
        if opset >= 10 {
            guard inputs.count > 2, let s = inputs[1]?.integers, let e = inputs[2]?.integers else { throw KernelError("Slice needs starts and ends") }
            starts = s
            ends = e
            axesRaw = inputs.count > 3 ? inputs[3]?.integers : nil
            steps = inputs.count > 4 ? inputs[4]?.integers : nil
        } else {
            guard let s = node.ints("starts"), let e = node.ints("ends") else { throw KernelError("Slice needs starts and ends") }
            starts = s
            ends = e
            axesRaw = node.ints("axes")
            steps = nil
        }
        let axes = (axesRaw ?? Array(0..<starts.count)).map { $0 < 0 ? $0 + rank : $0 }
        var begin = [Int](repeating: 0, count: rank)
        var step = [Int](repeating: 1, count: rank)
        var outShape = x.shape
        for (k, axis) in axes.enumerated() {
            guard axis >= 0, axis < rank else { throw KernelError("Slice: axis out of range") }
            let dim = x.shape[axis]
            let st = steps?[k] ?? 1
            guard st != 0 else { throw KernelError("Slice: step 0") }
            var s = starts[k] < 0 ? starts[k] + dim : starts[k]
            var e = ends[k] < 0 ? ends[k] + dim : ends[k]
            if st > 0 {
                s = min(max(s, 0), dim)
                e = min(max(e, 0), dim)
                outShape[axis] = max(0, (e - s + st - 1) / st)
            } else {
                s = min(max(s, -1), dim - 1)
                e = min(max(e, -1), dim - 1)
                outShape[axis] = max(0, (s - e + (-st) - 1) / (-st))
            }
            begin[axis] = s
            step[axis] = st
        }
        let st = strides(x.shape)
        return gatherElements(x, shape: outShape) { c in
            var j = 0
            for d in 0..<rank { j += (begin[d] + c[d] * step[d]) * st[d] }
            return j
        }
    }

    static func pad(_ node: Node, _ x: Tensor, _ inputs: [Tensor?], opset: Int) throws -> Tensor {
        let rank = x.shape.count
        var pads: [Int]
        var fill = Tensor(zeros: [], dataType: x.dataType)
        if opset >= 11 {
            guard inputs.count > 1, let p = inputs[1]?.integers else { throw KernelError("Pad needs pads") }
            pads = p
            if inputs.count > 2, let v = inputs[2], v.count == 1 { fill = Tensor(shape: [], dataType: v.dataType, bytes: v.bytes) }
            if inputs.count > 3, let axesT = inputs[3]?.integers {
                var full = [Int](repeating: 0, count: 2 * rank)
                for (k, a) in axesT.enumerated() {
                    let axis = a < 0 ? a + rank : a
                    full[axis] = pads[k]
                    full[axis + rank] = pads[k + axesT.count]
                }
                pads = full
            }
        } else {
            pads = node.ints("pads") ?? node.ints("paddings") ?? []
            if x.dataType == .float32 { fill = Tensor(shape: [], floats: [node.float("value", default: 0)]) }
        }
        guard pads.count == 2 * rank else { throw KernelError("Pad: \(pads.count) pads for rank \(rank)") }
        let mode = node.string("mode") ?? "constant"
        guard ["constant", "reflect", "edge", "wrap"].contains(mode) else { throw KernelError("Pad: mode \(mode)") }
        let outShape = (0..<rank).map { x.shape[$0] + pads[$0] + pads[$0 + rank] }
        guard outShape.allSatisfy({ $0 >= 0 }) else { throw KernelError("Pad: negative output shape") }
        let st = strides(x.shape)
        var padded = gatherElements(x, shape: outShape) { c in
            var j = 0
            for d in 0..<rank {
                let n = x.shape[d]
                var i = c[d] - pads[d]
                if i < 0 || i >= n {
                    switch mode {
                    case "constant": return nil
                    case "edge": i = min(max(i, 0), n - 1)
                    case "wrap": i = ((i % n) + n) % n
                    default:  // reflect
                        if n == 1 {
                            i = 0
                        } else {
                            let period = 2 * (n - 1)
                            i = ((i % period) + period) % period
                            if i >= n { i = period - i }
                        }
                    }
                }
                j += i * st[d]
            }
            return j
        }
        if mode == "constant", fill.bytes.contains(where: { $0 != 0 }) {
            // Fill the padded border: rerun the mapping and write the constant where it misses.
            let size = x.dataType.size
            var coord = [Int](repeating: 0, count: rank)
            for i in 0..<outShape.reduce(1, *) {
                if (0..<rank).contains(where: { coord[$0] - pads[$0] < 0 || coord[$0] - pads[$0] >= x.shape[$0] }) {
                    for b in 0..<size { padded.bytes[i * size + b] = fill.bytes[b] }
                }
                var d = rank - 1
                while d >= 0 {
                    coord[d] += 1
                    if coord[d] < outShape[d] { break }
                    coord[d] = 0
                    d -= 1
                }
            }
        }
        return padded
    }
}
