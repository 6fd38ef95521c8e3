import Foundation

/// Element-wise arithmetic with NumPy broadcasting, and `Cast`, over any numeric ``DataType``.
///
/// Values are widened to `Double` (floating types) or `Int64` (integer types) and narrowed back;
/// for +, −, ×, ÷ that widening gives exactly the float32 result.
enum Arithmetic {
    static func broadcastShape(_ a: [Int], _ b: [Int]) throws -> [Int] {
        let rank = max(a.count, b.count)
        let pa = [Int](repeating: 1, count: rank - a.count) + a
        let pb = [Int](repeating: 1, count: rank - b.count) + b
        return try zip(pa, pb).map { x, y in
            guard x == y || x == 1 || y == 1 else { throw KernelError("shapes \(a) and \(b) do not broadcast") }
            return x == 1 ? y : x
        }
    }

    /// For each output element, the index of the input element it reads.
    static func broadcastIndices(_ shape: [Int], to out: [Int]) -> [Int] {
        let padded = [Int](repeating: 1, count: out.count - shape.count) + shape
        var st = DataMovement.strides(padded)
        for d in 0..<out.count where padded[d] == 1 { st[d] = 0 }
        let n = out.reduce(1, *)
        var result = [Int](repeating: 0, count: n)
        var coord = [Int](repeating: 0, count: out.count)
        var j = 0
        for i in 0..<n {
            result[i] = j
            var d = out.count - 1
            while d >= 0 {
                coord[d] += 1
                j += st[d]
                if coord[d] < out[d] { break }
                j -= st[d] * coord[d]
                coord[d] = 0
                d -= 1
            }
        }
        return result
    }

    static func isFloating(_ t: DataType) -> Bool { t == .float32 || t == .float64 || t == .float16 }

    static func doubles(_ t: Tensor) -> [Double] {
        switch t.dataType {
        case .float32: t.floats.map(Double.init)
        case .float64: t.scalars(as: Double.self)
        case .float16: t.scalars(as: UInt16.self).map { Double(Float(Float16(bitPattern: $0))) }
        default: t.integers!.map(Double.init)
        }
    }

    static func int64s(_ t: Tensor) -> [Int64] {
        switch t.dataType {
        case .uint64: t.scalars(as: UInt64.self).map { Int64(bitPattern: $0) }
        default:
            t.integers.map { $0.map(Int64.init) }
                ?? doubles(t).map { $0.isFinite ? Int64(clamping: Int64(exactly: $0.rounded(.towardZero)) ?? ($0 < 0 ? Int64.min : Int64.max)) : 0 }
        }
    }

    static func tensor(_ shape: [Int], _ type: DataType, doubles v: [Double]) -> Tensor {
        switch type {
        case .float32: return Tensor(shape: shape, floats: v.map(Float.init))
        case .float64: return Tensor(shape: shape, dataType: .float64, bytes: v.withUnsafeBytes { Array($0) })
        case .float16: return Tensor(shape: shape, dataType: .float16, bytes: v.map { Float16(Float($0)).bitPattern }.withUnsafeBytes { Array($0) })
        case .bool: return Tensor(shape: shape, dataType: .bool, bytes: v.map { $0 != 0 ? 1 : 0 })
        default: return tensor(shape, type, ints: v.map { $0.isFinite ? Int64(exactly: $0.rounded(.towardZero)) ?? 0 : 0 })
        }
    }

    static func tensor(_ shape: [Int], _ type: DataType, ints v: [Int64]) -> Tensor {
        func pack<T>(_ a: [T]) -> [UInt8] { a.withUnsafeBytes { Array($0) } }
        let bytes: [UInt8]
        switch type {
        case .int64: bytes = pack(v)
        case .int32: bytes = pack(v.map { Int32(truncatingIfNeeded: $0) })
        case .int16: bytes = pack(v.map { Int16(truncatingIfNeeded: $0) })
        case .int8: bytes = pack(v.map { Int8(truncatingIfNeeded: $0) })
        case .uint64: bytes = pack(v.map { UInt64(bitPattern: $0) })
        case .uint32: bytes = pack(v.map { UInt32(truncatingIfNeeded: $0) })
        case .uint16: bytes = pack(v.map { UInt16(truncatingIfNeeded: $0) })
        case .uint8: bytes = pack(v.map { UInt8(truncatingIfNeeded: $0) })
        case .bool: bytes = v.map { $0 != 0 ? 1 : 0 }
        default: return tensor(shape, type, doubles: v.map(Double.init))
        }
        return Tensor(shape: shape, dataType: type, bytes: bytes)
    }

    static func binary(_ op: String, _ a: Tensor, _ b: Tensor) throws -> Tensor {
        let out = try broadcastShape(a.shape, b.shape)
        let ia = broadcastIndices(a.shape, to: out)
        let ib = broadcastIndices(b.shape, to: out)
        let comparison = ["Equal", "Less", "Greater"].contains(op)
        if isFloating(a.dataType) || isFloating(b.dataType) {
            let x = doubles(a)
            let y = doubles(b)
            let f: (Double, Double) -> Double =
                switch op {
                case "Add": { $0 + $1 }
                case "Sub": { $0 - $1 }
                case "Mul": { $0 * $1 }
                case "Div": { $0 / $1 }
                case "Max": { $0.isNaN || $1.isNaN ? .nan : Swift.max($0, $1) }
                case "Min": { $0.isNaN || $1.isNaN ? .nan : Swift.min($0, $1) }
                case "Equal": { $0 == $1 ? 1 : 0 }
                case "Less": { $0 < $1 ? 1 : 0 }
                case "Greater": { $0 > $1 ? 1 : 0 }
                default: { _, _ in .nan }
                }
            // Narrow each result to float32 where the op is float32 to match single-precision math.
            let r = (0..<out.reduce(1, *)).map { f(x[ia[$0]], y[ib[$0]]) }
            return tensor(out, comparison ? .bool : a.dataType, doubles: r)
        }
        let x = int64s(a)
        let y = int64s(b)
        let f: (Int64, Int64) throws -> Int64 =
            switch op {
            case "Add": { $0 &+ $1 }
            case "Sub": { $0 &- $1 }
            case "Mul": { $0 &* $1 }
            case "Div":
                { p, q in
                    guard q != 0 else { throw KernelError("integer division by zero") }
                    return p / q
                }
            case "Max": { Swift.max($0, $1) }
            case "Min": { Swift.min($0, $1) }
            case "Equal": { $0 == $1 ? 1 : 0 }
            case "Less": { $0 < $1 ? 1 : 0 }
            case "Greater": { $0 > $1 ? 1 : 0 }
            default: { _, _ in 0 }
            }
        let r = try (0..<out.reduce(1, *)).map { try f(x[ia[$0]], y[ib[$0]]) }
        return tensor(out, comparison ? .bool : a.dataType, ints: r)
    }

    static func unary(_ op: String, _ a: Tensor) throws -> Tensor {
        if isFloating(a.dataType) {
            let f: (Double) -> Double =
                switch op {
                case "Neg": { -$0 }
                case "Sqrt": { $0.squareRoot() }
                case "Round": { $0.rounded(.toNearestOrEven) }
                default: { Foundation.exp($0) }
                }
            if a.dataType == .float32 {
                let g: (Float) -> Float =
                    switch op {
                    case "Neg": { -$0 }
                    case "Sqrt": { $0.squareRoot() }
                    case "Round": { $0.rounded(.toNearestOrEven) }
                    default: { Foundation.exp($0) }
                    }
                return Tensor(shape: a.shape, floats: a.floats.map(g))
            }
            return tensor(a.shape, a.dataType, doubles: doubles(a).map(f))
        }
        guard op == "Neg" else { throw KernelError("\(op) needs a floating-point input") }
        return tensor(a.shape, a.dataType, ints: int64s(a).map { 0 &- $0 })
    }

    static func cast(_ a: Tensor, to type: DataType) throws -> Tensor {
        if a.dataType == type { return a }
        if isFloating(type) { return tensor(a.shape, type, doubles: doubles(a)) }
        if type == .bool { return tensor(a.shape, .bool, doubles: doubles(a)) }
        if isFloating(a.dataType) { return tensor(a.shape, type, doubles: doubles(a)) }
        return tensor(a.shape, type, ints: int64s(a))
    }
}
