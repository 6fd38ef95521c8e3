import Foundation
import ModelEngine
import ModelRuntime

/// Open Inference Protocol tensors in the binary tensor extension: sizes, little-endian numbers,
/// and BYTES elements (a 4-byte length, then the bytes).
///
/// ```swift
/// let count = V2Tensor.elementCount([2, 3, 224, 224])            // 301056, or nil on overflow
/// let values = try V2Tensor.numbers(bytes[...], datatype: "FP32")
/// ```
public enum V2Tensor {
    public static let numericTypes: [String: Int] = [
        "BOOL": 1, "UINT8": 1, "UINT16": 2, "UINT32": 4, "UINT64": 8, "INT8": 1, "INT16": 2,
        "INT32": 4, "INT64": 8, "FP16": 2, "FP32": 4, "FP64": 8, "BF16": 2,
    ]

    /// The number of elements of `shape`, or nil when a dimension is negative or the product
    /// overflows: a client's shape is multiplied only with overflow checks.
    public static func elementCount(_ shape: [Int]) -> Int? {
        var total = 1
        for d in shape {
            guard d >= 0 else { return nil }
            let (product, overflow) = total.multipliedReportingOverflow(by: d)
            guard !overflow else { return nil }
            total = product
        }
        return total
    }

    /// Numbers of a little-endian binary tensor.
    public static func numbers(_ bytes: ArraySlice<UInt8>, datatype: String) throws -> [Double] {
        guard let size = numericTypes[datatype] else { throw PredictionError.invalid("datatype \(datatype) is not numeric") }
        guard bytes.count % size == 0 else {
            throw PredictionError.invalid("binary data of \(bytes.count) bytes is not a whole number of \(datatype) elements")
        }
        let raw = Array(bytes)
        return try raw.withUnsafeBytes { r -> [Double] in
            let n = raw.count / size
            switch datatype {
            case "FP32": return (0..<n).map { Double(r.loadUnaligned(fromByteOffset: $0 * 4, as: Float.self)) }
            case "FP64": return (0..<n).map { r.loadUnaligned(fromByteOffset: $0 * 8, as: Double.self) }
            case "INT64": return (0..<n).map { Double(r.loadUnaligned(fromByteOffset: $0 * 8, as: Int64.self)) }
            case "INT32": return (0..<n).map { Double(r.loadUnaligned(fromByteOffset: $0 * 4, as: Int32.self)) }
            case "UINT8", "BOOL": return raw.map(Double.init)
            case "INT8": return raw.map { Double(Int8(bitPattern: $0)) }
            case "INT16": return (0..<n).map { Double(r.loadUnaligned(fromByteOffset: $0 * 2, as: Int16.self)) }
            case "UINT16": return (0..<n).map { Double(r.loadUnaligned(fromByteOffset: $0 * 2, as: UInt16.self)) }
            case "UINT32": return (0..<n).map { Double(r.loadUnaligned(fromByteOffset: $0 * 4, as: UInt32.self)) }
            case "UINT64": return (0..<n).map { Double(r.loadUnaligned(fromByteOffset: $0 * 8, as: UInt64.self)) }
            case "FP16": return (0..<n).map { Double(Float(Float16(bitPattern: r.loadUnaligned(fromByteOffset: $0 * 2, as: UInt16.self)))) }
            // bfloat16 is the upper half of a float32.
            case "BF16": return (0..<n).map { Double(Float(bitPattern: UInt32(r.loadUnaligned(fromByteOffset: $0 * 2, as: UInt16.self)) << 16)) }
            default: throw PredictionError.invalid("datatype \(datatype) is not supported in binary data")
            }
        }
    }

    /// Elements of a binary BYTES tensor: each a 4-byte little-endian length, then the bytes.
    /// More than `maxElements` (the shape's count, already within the row limit) is refused as
    /// soon as the next one starts.
    public static func byteElements(_ bytes: ArraySlice<UInt8>, maxElements: Int) throws -> [[UInt8]] {
        var out: [[UInt8]] = []
        var i = bytes.startIndex
        while i < bytes.endIndex {
            guard out.count < maxElements else {
                throw PredictionError.invalid("the BYTES tensor holds more elements than its shape's \(maxElements)")
            }
            guard bytes.endIndex - i >= 4 else { throw PredictionError.invalid("truncated BYTES element length") }
            let n = Int(bytes[i]) | Int(bytes[i + 1]) << 8 | Int(bytes[i + 2]) << 16 | Int(bytes[i + 3]) << 24
            i += 4
            guard n >= 0, bytes.endIndex - i >= n else { throw PredictionError.invalid("BYTES element of \(n) bytes overruns the data") }
            out.append(Array(bytes[i..<(i + n)]))
            i += n
        }
        return out
    }

    public static func encodeBytes(_ elements: [[UInt8]]) -> [UInt8] {
        var out: [UInt8] = []
        for e in elements {
            let n = UInt32(e.count)
            out += [UInt8(n & 0xFF), UInt8(n >> 8 & 0xFF), UInt8(n >> 16 & 0xFF), UInt8(n >> 24)]
            out += e
        }
        return out
    }
}
