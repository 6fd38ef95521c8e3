import CDNNL

/// One executable step: what it reads and writes (for liveness), and how to bind it to memory.
struct Step {
    var name: String
    var reads: [Value]
    var writes: [Value]
    var bind: (Binder) throws -> (DNNLStream) throws -> Void
}

/// Builds the steps of an ``ExecutionPlan`` for one set of input shapes.
///
/// Values known at planning time (initializers, `Shape` of a known shape, and anything computed
/// only from those) are folded into constants and need no step; what is folded from initializers
/// alone is folded once per model (``ConstantCache``). Float tensors flow between
/// oneDNN primitives in whatever layout the primitives choose (blocked `nChw8c` on AVX2);
/// a reorder to plain row-major is inserted only where a plain kernel or a graph output needs it.
final class Planner {
    let graph: Graph
    var values: [String: Value] = [:]
    var steps: [Step] = []
    /// How many node inputs (plus graph outputs) still read each value name.
    var uses: [String: Int] = [:]
    /// Consumers of each value name, by node index.
    var consumers: [String: [Int]] = [:]
    /// The node that produces each value name, by index.
    var producers: [String: Int] = [:]
    /// Nodes already planned as part of a fusion.
    var fused = Set<Int>()
    var graphOutputs: Set<String>
    /// The largest scratchpad any primitive needs; one buffer serves them all.
    var scratchpadSize = 0
    /// Values that are the same in every plan of the model: initializers and constants folded
    /// from them alone. Their conversions are shared through the model's ``ConstantCache``.
    private(set) var invariant: Set<String>
    private var plainCopies: [ObjectIdentifier: Value] = [:]
    private var counter = 0
    private let constantCache: ConstantCache

    init(graph: Graph, inputs: [String: Value], constantCache: ConstantCache) {
        self.graph = graph
        self.constantCache = constantCache
        self.graphOutputs = Set(graph.outputs.map(\.name))
        self.invariant = Set(graph.constants.keys).subtracting(inputs.keys)
        for (name, t) in graph.constants { values[name] = Value(name: name, shape: t.shape, type: t.dataType, constant: t) }
        for (name, v) in inputs { values[name] = v }
        for (i, node) in graph.nodes.enumerated() {
            for output in node.outputs where !output.isEmpty { producers[output] = i }
            for input in node.inputs where !input.isEmpty {
                uses[input, default: 0] += 1
                consumers[input, default: []].append(i)
            }
        }
        for out in graphOutputs { uses[out, default: 0] += 1 }
    }

    func plan() throws {
        for (i, node) in graph.nodes.enumerated() where !fused.contains(i) {
            do {
                try plan(node: node, index: i)
            } catch let error as ModelError {
                throw error
            } catch {
                throw ModelError.execution("\(node.opType) '\(node.name)': \(error)")
            }
        }
    }

    // MARK: Values

    func value(_ name: String, of node: Node) throws -> Value {
        guard let v = values[name] else {
            throw ModelError.invalidModel("\(node.opType) '\(node.name)' reads '\(name)', which nothing produces")
        }
        return v
    }

    func inputs(of node: Node) throws -> [Value?] {
        try node.inputs.map { $0.isEmpty ? nil : try value($0, of: node) }
    }

    func define(_ name: String, _ value: Value) { values[name] = value }

    func newValue(_ name: String, shape: [Int], type: DataType = .float32, md: MemoryDesc? = nil) -> Value {
        let v = Value(name: name, shape: shape, type: type, md: md)
        v.storage = Storage(size: Arena.align(v.byteSize))
        return v
    }

    /// A fresh name for an internal value (reorders).
    func internalName(_ base: String) -> String {
        counter += 1
        return "\(base)#\(counter)"
    }

    /// The value with exactly one remaining reader: `node` (so it may be overwritten in place).
    func isLastUse(_ name: String) -> Bool { uses[name, default: 0] <= 1 && !graphOutputs.contains(name) }

    /// Marks that a node's inputs have been read.
    func consume(_ node: Node) {
        for input in node.inputs where !input.isEmpty { uses[input, default: 0] -= 1 }
    }

    /// `v` in plain row-major layout: itself, or a reorder (made once per value).
    func plain(_ v: Value) throws -> Value {
        if v.isPlain { return v }
        if let copy = plainCopies[ObjectIdentifier(v)] { return copy }
        let copy = try reorder(v, to: .plain(v.shape, type: v.md.data_type))
        plainCopies[ObjectIdentifier(v)] = copy
        return copy
    }

    /// A constant derived from value `source` alone (its data in another type or shape):
    /// invariant, and so shared between plans, when `source` is.
    func derivedConstant(_ name: String, _ t: Tensor, from source: String) -> Value {
        if invariant.contains(source) { invariant.insert(name) }
        return Value(name: name, shape: t.shape, type: t.dataType, constant: t)
    }

    /// `v` converted to layout `md` (constants are converted now, once).
    func reorder(_ v: Value, to md: MemoryDesc) throws -> Value {
        if v.md == md { return v }
        if let c = v.constant {
            let out = Value(name: internalName(v.name), shape: v.shape, type: v.type, md: md, constant: c)
            out.origin = v.origin ?? v.name
            if invariant.contains(v.name) {
                out.constantBuffer = try constantCache.buffer(v.name, from: v.md, md: md) { try Reorder.now(c, from: v.md, to: md) }
            } else {
                out.constantBuffer = try Reorder.now(c, from: v.md, to: md)
            }
            return out
        }
        let out = newValue(internalName(v.name), shape: v.shape, type: v.type, md: md)
        let prim = try Primitive.reorder(from: v.md, to: md)
        emit("reorder \(v.name)", reads: [v], writes: [out]) { b in
            let call = PrimitiveCall(prim, [(Arg.src, try b.memory(v)), (Arg.dst, try b.memory(out))])
            return { try call.run($0) }
        }
        return out
    }

    func emit(_ name: String, reads: [Value], writes: [Value], bind: @escaping (Binder) throws -> (DNNLStream) throws -> Void) {
        steps.append(Step(name: name, reads: reads, writes: writes, bind: bind))
    }

    /// Emits a oneDNN primitive step with a scratchpad.
    func emitPrimitive(_ name: String, _ prim: Primitive, reads: [(Int32, Value)], writes: [(Int32, Value)]) {
        scratchpadSize = max(scratchpadSize, prim.scratchpadSize)
        emit(name, reads: reads.map(\.1), writes: writes.map(\.1)) { b in
            var args = try (reads + writes).map { ($0.0, try b.memory($0.1)) }
            if let pad = try b.scratchpad(prim) { args.append((Arg.scratchpad, pad)) }
            let call = PrimitiveCall(prim, args)
            return { try call.run($0) }
        }
    }

    // MARK: Dispatch

    private func plan(node: Node, index: Int) throws {
        defer { consume(node) }
        let ins = try inputs(of: node)
        // Fold anything computable from constants alone.
        if ReferenceKernels.supports(node.opType),
            ins.allSatisfy({ $0 == nil || $0!.constant != nil })
        {
            let fold = { try ReferenceKernels.run(node, ins.map { $0?.constant }, opset: self.graph.opset) }
            let isInvariant = node.inputs.allSatisfy { $0.isEmpty || invariant.contains($0) }
            let outs = try isInvariant ? constantCache.folded(node.outputs, make: fold) : fold()
            for (name, t) in zip(node.outputs, outs) where !name.isEmpty {
                define(name, Value(name: name, shape: t.shape, type: t.dataType, constant: t))
                if isInvariant { invariant.insert(name) }
            }
            return
        }
        if node.opType == "Shape", let x = ins.first ?? nil {
            let t = ReferenceKernels.shape(x.shape, node)
            define(node.outputs[0], Value(name: node.outputs[0], shape: t.shape, type: .int64, constant: t))
            return
        }
        if try planOneDNN(node, ins, index: index) { return }
        try planReference(node, ins)
    }

    /// A plain Swift kernel at run time; output shapes come from running it once on zeros now.
    private func planReference(_ node: Node, _ ins: [Value?]) throws {
        guard ReferenceKernels.supports(node.opType) else {
            throw ModelError.unsupported([UnsupportedNode(opType: node.opType, name: node.name, reason: "no kernel")])
        }
        if let alias = try planAlias(node, ins) {
            define(node.outputs[0], alias)
            return
        }
        let plainIns = try ins.map { try $0.map(plain) }
        // Output shapes come from running the kernel once on stand-in data: zeros (safe for
        // indices), or ones where zeros fail (integer division).
        func standIn(_ fill: Int64) -> [Tensor?] {
            plainIns.map {
                $0.map { v in
                    v.constant
                        ?? (fill == 0
                            ? Tensor(zeros: v.shape, dataType: v.type)
                            : ReferenceKernels.filled(v.shape, with: Arithmetic.tensor([], v.type, ints: [fill])))
                }
            }
        }
        let probe: [Tensor]
        do { probe = try ReferenceKernels.run(node, standIn(0), opset: graph.opset) } catch {
            probe = try ReferenceKernels.run(node, standIn(1), opset: graph.opset)
        }
        let outs = zip(node.outputs, probe).map { name, t in newValue(name, shape: t.shape, type: t.dataType) }
        for (name, v) in zip(node.outputs, outs) where !name.isEmpty { define(name, v) }
        let opset = graph.opset
        emit(node.name, reads: plainIns.compactMap { $0 }, writes: outs) { b in
            let ptrs = plainIns.map { $0.map { (v: $0, p: b.pointer($0)) } }
            let outPtrs = outs.map { b.pointer($0) }
            return { _ in
                let tensors = ptrs.map {
                    $0.map {
                        $0.v.constant
                            ?? Tensor(
                                shape: $0.v.shape,
                                dataType: $0.v.type,
                                bytes: Array(UnsafeRawBufferPointer(start: $0.p, count: $0.v.count * $0.v.type.size))
                            )
                    }
                }
                // Data-dependent failures (an integer division by zero, an index out of range)
                // become errors of this run, never a crash of the process.
                let results: [Tensor]
                do { results = try ReferenceKernels.run(node, tensors, opset: opset) } catch {
                    throw ModelError.invalidInput("\(node.opType) '\(node.name)': \(error)")
                }
                for (r, p) in zip(results, outPtrs) { r.bytes.withUnsafeBytes { p.copyMemory(from: $0.baseAddress!, byteCount: $0.count) } }
            }
        }
    }

    /// Reshape-like nodes on plain data need no copy: the output shares the input's storage.
    private func planAlias(_ node: Node, _ ins: [Value?]) throws -> Value? {
        if node.opType == "Dropout" { try checkDropout(node, ins) }
        guard ["Reshape", "Flatten", "Squeeze", "Unsqueeze", "Identity", "Dropout"].contains(node.opType),
            let x = ins.first ?? nil, x.constant == nil, node.outputs.count == 1 || node.outputs[1].isEmpty
        else { return nil }
        let src = try plain(x)
        let shape =
            ["Identity", "Dropout"].contains(node.opType)
            ? src.shape
            : try ReferenceKernels.reshapedShape(node, src.shape, ins.count > 1 ? ins[1]?.constant : nil, opset: graph.opset)
        let out = Value(name: node.outputs[0], shape: shape, type: src.type)
        out.share(src)
        return out
    }
}

extension Planner {
    /// Inference Dropout is the identity; training mode with a non-zero ratio is random, which we refuse.
    func checkDropout(_ node: Node, _ ins: [Value?]) throws {
        let training = ins.count > 2 ? ins[2]?.constant.map { $0.bytes.first ?? 0 } ?? 0 : 0
        let ratio = ins.count > 1 ? ins[1]?.constant.map { Arithmetic.doubles($0).first ?? 0.5 } ?? 0.5 : 0.5
        if training != 0 && ratio != 0 {
            throw ModelError.unsupported([UnsupportedNode(opType: node.opType, name: node.name, reason: "training mode (random masks)")])
        }
    }
}

extension Planner {
    /// The steps whose results something reads — a graph output, or a later kept step — in
    /// order. Fusions read past values the graph still names (the dequantized copy of an int8
    /// convolution's source), whose steps go here. Storage, not the value, is what counts as read,
    /// so a step writing memory another value shares (an in-place sum) stays.
    static func live(_ steps: [Step], outputs: [Value]) -> [Step] {
        var needed = Set(outputs.compactMap { $0.storage.map(ObjectIdentifier.init) })
        var kept: [Step] = []
        for step in steps.reversed() {
            let writes = step.writes.compactMap { $0.storage.map(ObjectIdentifier.init) }
            guard writes.isEmpty || writes.contains(where: needed.contains) else { continue }
            kept.append(step)
            for v in step.reads { if let s = v.storage { needed.insert(ObjectIdentifier(s)) } }
        }
        return kept.reversed()
    }
}

/// Resolves values to memory once the arena is placed.
struct Binder {
    let arena: UnsafeMutableRawPointer
    let scratch: AlignedBuffer
    /// Plan-invariant constants are copied once per model, not once per plan.
    let constantCache: ConstantCache
    let invariant: Set<String>

    func pointer(_ v: Value) -> UnsafeMutableRawPointer {
        if let c = v.constant, v.constantBuffer == nil {
            let copy = {
                let buffer = AlignedBuffer(size: c.bytes.count)
                c.bytes.withUnsafeBytes { buffer.pointer.copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
                return buffer
            }
            let shareable = invariant.contains(v.name)
            v.constantBuffer = shareable ? constantCache.buffer(v.name, md: v.md, make: copy) : copy()
        }
        if let buffer = v.constantBuffer { return buffer.pointer }
        precondition(v.storage != nil, "value \(v.name) has no storage")
        return arena + v.storage!.offset
    }

    func memory(_ v: Value) throws -> Memory { try Memory(v.md, pointer(v)) }

    func scratchpad(_ p: Primitive) throws -> Memory? {
        let md = p.md(dnnl_query_scratchpad_md)
        guard md.byteSize > 0 else { return nil }
        precondition(md.byteSize <= scratch.size, "scratchpad too small")
        return try Memory(md, scratch.pointer)
    }
}

/// Immediate reorders of constant data (weights) into a primitive's preferred layout.
enum Reorder {
    static func now(_ t: Tensor, from: MemoryDesc, to: MemoryDesc) throws -> AlignedBuffer {
        let out = AlignedBuffer(size: to.byteSize)
        let prim = try Primitive.reorder(from: from, to: to)
        var bytes = t.bytes
        try bytes.withUnsafeMutableBytes { src in
            let call = PrimitiveCall(prim, [(Arg.src, try Memory(from, src.baseAddress)), (Arg.dst, try Memory(to, out.pointer))])
            let stream = try DNNLStream()
            try call.run(stream)
            dnnl_stream_wait(stream.handle)
        }
        return out
    }
}
