import Foundation
import SwiftProtobuf

/// Reads an ONNX `ModelProto` into a ``Graph``.
enum Loader {
    static func load(contentsOf url: URL) throws -> Graph {
        let data: Data
        do { data = try Data(contentsOf: url, options: .mappedIfSafe) } catch {
            throw ModelError.invalidModel("cannot read \(url.path): \(error.localizedDescription)")
        }
        return try load(data: data, directory: url.deletingLastPathComponent())
    }

    static func load(data: Data, directory: URL? = nil) throws -> Graph {
        let proto: Onnx_ModelProto
        do {
            var options = BinaryDecodingOptions()
            options.messageDepthLimit = 64
            proto = try Onnx_ModelProto(serializedBytes: data, options: options)
        } catch {
            throw ModelError.invalidModel("not an ONNX model (\(error))")
        }
        guard proto.hasGraph else { throw ModelError.invalidModel("the model has no graph") }
        let opset = proto.opsetImport.first { $0.domain.isEmpty || $0.domain == "ai.onnx" }.map { Int($0.version) } ?? 1
        let g = proto.graph
        var constants: [String: Tensor] = [:]
        for t in g.initializer { constants[t.name] = try tensor(from: t, directory: directory) }
        var nodes: [Node] = []
        for (i, n) in g.node.enumerated() {
            var attributes: [String: Attribute] = [:]
            for a in n.attribute { attributes[a.name] = try attribute(from: a, directory: directory) }
            let node = Node(
                opType: n.opType,
                name: n.name.isEmpty ? "\(n.opType)_\(i)" : n.name,
                domain: n.domain,
                inputs: n.input,
                outputs: n.output,
                attributes: attributes
            )
            if node.opType == "Constant" && (node.domain.isEmpty || node.domain == "ai.onnx"), let out = node.outputs.first {
                constants[out] = try constantValue(node)
                continue
            }
            nodes.append(node)
        }
        let inputs = g.input.filter { constants[$0.name] == nil }.map(valueSpec)
        return Graph(nodes: nodes, constants: constants, inputs: inputs, outputs: g.output.map(valueSpec), opset: opset)
    }

    private static func valueSpec(_ v: Onnx_ValueInfoProto) -> ValueSpec {
        guard v.hasType, case .tensorType(let t)? = v.type.value else { return ValueSpec(name: v.name, isTensor: !v.hasType) }
        let type = DataType(rawValue: t.elemType)
        let shape: [ValueSpec.Dimension]? =
            t.hasShape
            ? t.shape.dim.map { d in
                switch d.value {
                case .dimValue(let n)?: .fixed(Int(n))
                case .dimParam(let s)?: .symbolic(s)
                case nil: .symbolic("?")
                }
            } : nil
        return ValueSpec(name: v.name, dataType: type, shape: shape)
    }

    private static func attribute(from a: Onnx_AttributeProto, directory: URL?) throws -> Attribute {
        switch a.type {
        case .int: return .int(Int(a.i))
        case .float: return .float(a.f)
        case .string: return .string(String(decoding: a.s, as: UTF8.self))
        case .ints: return .ints(a.ints.map { Int($0) })
        case .floats: return .floats(a.floats)
        case .strings: return .strings(a.strings.map { String(decoding: $0, as: UTF8.self) })
        case .tensor: return .tensor(try tensor(from: a.t, directory: directory))
        default:
            // Older exporters leave `type` unset; infer it from the populated field.
            if a.hasI { return .int(Int(a.i)) }
            if a.hasF { return .float(a.f) }
            if a.hasT { return .tensor(try tensor(from: a.t, directory: directory)) }
            if !a.ints.isEmpty { return .ints(a.ints.map { Int($0) }) }
            if !a.floats.isEmpty { return .floats(a.floats) }
            return .other("\(a.type)")
        }
    }

    private static func constantValue(_ node: Node) throws -> Tensor {
        if let t = node.tensor("value") { return t }
        if case .float(let f)? = node.attributes["value_float"] { return Tensor(shape: [], floats: [f]) }
        if case .floats(let f)? = node.attributes["value_floats"] { return Tensor(shape: [f.count], floats: f) }
        if case .int(let i)? = node.attributes["value_int"] { return Tensor(shape: [], int64s: [Int64(i)]) }
        if case .ints(let i)? = node.attributes["value_ints"] { return Tensor(shape: [i.count], int64s: i.map(Int64.init)) }
        throw ModelError.unsupported([UnsupportedNode(opType: "Constant", name: node.name, reason: "no supported value attribute")])
    }

    static func tensor(from t: Onnx_TensorProto, directory: URL? = nil) throws -> Tensor {
        guard let type = DataType(rawValue: t.dataType) else {
            throw ModelError.unsupported([UnsupportedNode(opType: "Tensor", name: t.name, reason: "data type \(t.dataType) is not supported")])
        }
        let shape = t.dims.map { Int($0) }
        let count = shape.reduce(1, *)
        guard shape.allSatisfy({ $0 >= 0 }) else { throw ModelError.invalidModel("tensor '\(t.name)' has a negative dimension") }
        var bytes: [UInt8]
        if t.dataLocation == .external {
            bytes = try externalData(t, directory: directory)
        } else if !t.rawData.isEmpty {
            bytes = [UInt8](t.rawData)
        } else {
            switch type {
            case .float32: bytes = t.floatData.withUnsafeBytes { Array($0) }
            case .float64: bytes = t.doubleData.withUnsafeBytes { Array($0) }
            case .int64: bytes = t.int64Data.withUnsafeBytes { Array($0) }
            case .int32: bytes = t.int32Data.withUnsafeBytes { Array($0) }
            case .uint64: bytes = t.uint64Data.withUnsafeBytes { Array($0) }
            case .uint32: bytes = t.uint64Data.map { UInt32(truncatingIfNeeded: $0) }.withUnsafeBytes { Array($0) }
            case .int16: bytes = t.int32Data.map { Int16(truncatingIfNeeded: $0) }.withUnsafeBytes { Array($0) }
            case .uint16, .float16: bytes = t.int32Data.map { UInt16(truncatingIfNeeded: $0) }.withUnsafeBytes { Array($0) }
            case .int8: bytes = t.int32Data.map { UInt8(bitPattern: Int8(truncatingIfNeeded: $0)) }
            case .uint8, .bool: bytes = t.int32Data.map { UInt8(truncatingIfNeeded: $0) }
            }
        }
        guard bytes.count == count * type.size else {
            throw ModelError.invalidModel("tensor '\(t.name)' holds \(bytes.count) bytes, shape \(shape) of \(type) needs \(count * type.size)")
        }
        return Tensor(shape: shape, dataType: type, bytes: bytes)
    }

    private static func externalData(_ t: Onnx_TensorProto, directory: URL?) throws -> [UInt8] {
        var info: [String: String] = [:]
        for kv in t.externalData { info[kv.key] = kv.value }
        guard let location = info["location"], let directory else {
            throw ModelError.invalidModel("tensor '\(t.name)' has external data without a location")
        }
        guard !location.hasPrefix("/"), !location.split(separator: "/").contains("..") else {
            throw ModelError.invalidModel("tensor '\(t.name)': external data path '\(location)' leaves the model directory")
        }
        let url = directory.appendingPathComponent(location)
        guard let handle = try? FileHandle(forReadingFrom: url) else {
            throw ModelError.invalidModel("tensor '\(t.name)': cannot open external data \(location)")
        }
        defer { try? handle.close() }
        let offset = UInt64(info["offset"] ?? "0") ?? 0
        try handle.seek(toOffset: offset)
        let data = if let length = info["length"].flatMap(Int.init) { try handle.read(upToCount: length) } else { try handle.readToEnd() }
        return [UInt8](data ?? Data())
    }
}
