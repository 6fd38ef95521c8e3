/// The element types a ``Tensor`` can hold (values follow ONNX's `TensorProto.DataType`).
public enum DataType: Int32, Sendable, CaseIterable, CustomStringConvertible {
    case float32 = 1
    case uint8 = 2
    case int8 = 3
    case uint16 = 4
    case int16 = 5
    case int32 = 6
    case int64 = 7
    case bool = 9
    case float16 = 10
    case float64 = 11
    case uint32 = 12
    case uint64 = 13

    /// Bytes per element.
    public var size: Int {
        switch self {
        case .uint8, .int8, .bool: 1
        case .uint16, .int16, .float16: 2
        case .float32, .int32, .uint32: 4
        case .int64, .float64, .uint64: 8
        }
    }

    public var description: String {
        switch self {
        case .float32: "float32"
        case .uint8: "uint8"
        case .int8: "int8"
        case .uint16: "uint16"
        case .int16: "int16"
        case .int32: "int32"
        case .int64: "int64"
        case .bool: "bool"
        case .float16: "float16"
        case .float64: "float64"
        case .uint32: "uint32"
        case .uint64: "uint64"
        }
    }
}

/// A dense, row-major tensor: a shape, an element type and its little-endian bytes.
///
/// ```swift
/// let image = Tensor(shape: [1, 3, 224, 224], floats: pixels)
/// let logits = try model.run(["input": image])["logits"]!.floats
/// ```
public struct Tensor: Sendable, Equatable {
    public var shape: [Int]
    public var dataType: DataType
    /// Contiguous element storage, `shape.product * dataType.size` bytes.
    public var bytes: [UInt8]

    public var count: Int { shape.reduce(1, *) }

    public init(shape: [Int], dataType: DataType, bytes: [UInt8]) {
        precondition(bytes.count == shape.reduce(1, *) * dataType.size, "byte count does not match shape \(shape)")
        self.shape = shape
        self.dataType = dataType
        self.bytes = bytes
    }

    /// A zero-filled tensor.
    public init(zeros shape: [Int], dataType: DataType = .float32) {
        self.init(shape: shape, dataType: dataType, bytes: [UInt8](repeating: 0, count: shape.reduce(1, *) * dataType.size))
    }

    public init(shape: [Int], floats: [Float]) {
        self.init(shape: shape, dataType: .float32, bytes: floats.withUnsafeBytes { Array($0) })
    }

    public init(shape: [Int], int64s: [Int64]) {
        self.init(shape: shape, dataType: .int64, bytes: int64s.withUnsafeBytes { Array($0) })
    }

    /// The elements as `T`, which must match ``dataType``'s size.
    public func scalars<T>(as type: T.Type) -> [T] {
        precondition(MemoryLayout<T>.stride == dataType.size, "\(T.self) does not match \(dataType)")
        return bytes.withUnsafeBytes { Array($0.bindMemory(to: T.self)) }
    }

    public var floats: [Float] { scalars(as: Float.self) }
    public var int64s: [Int64] { scalars(as: Int64.self) }

    /// Integer elements widened to `Int` (for shape arithmetic); nil for floating-point types.
    var integers: [Int]? {
        switch dataType {
        case .int64: int64s.map { Int($0) }
        case .int32: scalars(as: Int32.self).map { Int($0) }
        case .int8: scalars(as: Int8.self).map { Int($0) }
        case .uint8, .bool: bytes.map { Int($0) }
        case .int16: scalars(as: Int16.self).map { Int($0) }
        case .uint16: scalars(as: UInt16.self).map { Int($0) }
        case .uint32: scalars(as: UInt32.self).map { Int($0) }
        case .uint64: scalars(as: UInt64.self).map { Int(truncatingIfNeeded: $0) }
        default: nil
        }
    }
}
