import CDNNL

/// A graph compiled for one set of input shapes: bound primitives over one preallocated arena.
///
/// Not thread-safe: ``Model`` serializes runs of a plan.
final class ExecutionPlan {
    let inputs: [(name: String, value: Value)]
    let outputs: [(name: String, value: Value)]
    let arenaSize: Int
    private let stream: DNNLStream
    private let arena: AlignedBuffer
    private let scratch: AlignedBuffer
    private let calls: [(DNNLStream) throws -> Void]
    /// Keeps the planned values alive: they hold the constant buffers (weights) the calls read,
    /// their own or the model's shared ones (``ConstantCache``).
    private let steps: [Step]
    private let binder: Binder

    init(graph: Graph, inputs given: [String: Tensor], specialized: Set<String>, constantCache: ConstantCache, workspace: Workspace) throws {
        var inputValues: [String: Value] = [:]
        var ordered: [(String, Value)] = []
        for spec in graph.inputs {
            guard let t = given[spec.name] else { throw ModelError.invalidInput("missing input '\(spec.name)'") }
            let v: Value
            if specialized.contains(spec.name) {
                v = Value(name: spec.name, shape: t.shape, type: t.dataType, constant: t)
            } else {
                v = Value(name: spec.name, shape: t.shape, type: t.dataType)
                v.storage = Storage(size: Arena.align(v.byteSize))
                v.storage!.touch(-1)
                ordered.append((spec.name, v))
            }
            inputValues[spec.name] = v
        }
        let planner = Planner(graph: graph, inputs: inputValues, constantCache: constantCache)
        try planner.plan()
        var outs: [(String, Value)] = []
        for spec in graph.outputs {
            guard let v = planner.values[spec.name] else { throw ModelError.invalidModel("nothing produces output '\(spec.name)'") }
            outs.append((spec.name, try planner.plain(v)))
        }
        let steps = Planner.live(planner.steps, outputs: outs.map(\.1))
        var storages: [ObjectIdentifier: Storage] = [:]
        for (i, step) in steps.enumerated() {
            for v in step.reads + step.writes {
                guard let s = v.storage else { continue }
                s.touch(i)
                storages[ObjectIdentifier(s)] = s
            }
        }
        for (_, v) in ordered { if let s = v.storage { storages[ObjectIdentifier(s)] = s } }
        for (_, v) in outs {
            if let s = v.storage {
                s.touch(steps.count)
                storages[ObjectIdentifier(s)] = s
            }
        }
        let size = Arena.place(Array(storages.values))
        let arena = workspace.arena(atLeast: size)
        let scratch = workspace.scratch(atLeast: planner.scratchpadSize)
        let binder = Binder(arena: arena.pointer, scratch: scratch, constantCache: constantCache, invariant: planner.invariant)
        constantCache.keepFolded(readBy: Set((steps.flatMap(\.reads) + outs.map(\.1)).map { $0.origin ?? $0.name }))
        calls = try steps.map { try $0.bind(binder) }
        (self.arenaSize, self.arena, self.scratch, self.binder, self.steps) = (size, arena, scratch, binder, steps)
        stream = try DNNLStream()
        self.inputs = ordered
        self.outputs = outs
    }

    /// What runs, in order (internal for tests: which nodes a fusion replaced).
    var stepNames: [String] { steps.map(\.name) }

    func run(_ given: [String: Tensor]) throws -> [String: Tensor] {
        for (name, v) in inputs {
            guard let t = given[name] else { throw ModelError.invalidInput("missing input '\(name)'") }
            guard t.shape == v.shape, t.dataType == v.type else {
                throw ModelError.invalidInput("input '\(name)' is \(t.dataType) \(t.shape), plan expects \(v.type) \(v.shape)")
            }
            t.bytes.withUnsafeBytes { binder.pointer(v).copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
        }
        do {
            for call in calls { try call(stream) }
        } catch {
            dnnl_stream_wait(stream.handle)
            throw error
        }
        dnnl_stream_wait(stream.handle)
        var result: [String: Tensor] = [:]
        for (name, v) in outputs {
            if let c = v.constant, v.md.isPlain || v.type != .float32 {
                result[name] = c
                continue
            }
            let bytes = Array(UnsafeRawBufferPointer(start: binder.pointer(v), count: v.count * v.type.size))
            result[name] = Tensor(shape: v.shape, dataType: v.type, bytes: bytes)
        }
        return result
    }
}
