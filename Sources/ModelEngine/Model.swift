import CDNNL
import Foundation

/// An ONNX model loaded for inference on oneDNN.
///
/// ```swift
/// let model = try Model(contentsOf: url, options: .init(threads: 2))
/// let out = try model.run(["input": Tensor(shape: [1, 3, 224, 224], floats: pixels)])
/// print(out["logits"]!.floats.prefix(5))
/// ```
///
/// A model compiles one execution plan per distinct set of input shapes (a new batch size
/// compiles a new plan on first use) and keeps the last few; the plans share the model's
/// weights and one activation arena, so run the largest batch first (warm-up). `run` is safe to call from many
/// threads at once: runs are serialized by a lock, because one run already uses every
/// OpenMP thread; batch concurrent requests together for throughput.
public final class Model: @unchecked Sendable {
    public struct Options: Sendable {
        /// OpenMP threads for this model's runs; nil keeps the process default (`OMP_NUM_THREADS`).
        public var threads: Int?
        /// How many compiled plans (input shape sets) to keep.
        public var maxPlans: Int

        public init(threads: Int? = nil, maxPlans: Int = 8) {
            self.threads = threads
            self.maxPlans = maxPlans
        }
    }

    /// Graph inputs (initializers excluded) and outputs, as the model declares them.
    public let inputs: [ValueSpec]
    public let outputs: [ValueSpec]
    public let options: Options
    /// The default-domain opset the model targets.
    public let opset: Int

    private let graph: Graph
    private let lock = NSLock()
    private var plans: [String: ExecutionPlan] = [:]
    private var planOrder: [String] = []
    /// Internal for tests: what the plans share.
    let constantCache = ConstantCache()
    private let workspace = Workspace()

    public convenience init(contentsOf url: URL, options: Options = .init()) throws {
        try self.init(graph: Loader.load(contentsOf: url), options: options)
    }

    /// Loads a serialized `ModelProto`.
    public convenience init(data: Data, options: Options = .init()) throws {
        try self.init(graph: Loader.load(data: data), options: options)
    }

    init(graph: Graph, options: Options) throws {
        var optimized = graph
        QOperators.lower(&optimized)
        if let name = optimized.redefinedValue {
            throw ModelError.invalidModel("value '\(name.prefix(200))' is defined more than once (by two nodes, or by a node and an initializer or input)")
        }
        let problems = Operators.validate(optimized)
        guard problems.isEmpty else { throw ModelError.unsupported(problems) }
        Optimizer.foldBatchNorm(&optimized)
        self.graph = optimized
        self.inputs = graph.inputs
        self.outputs = graph.outputs
        self.opset = graph.opset
        self.options = options
    }

    /// Runs the model. `inputs` maps every graph input name to a tensor of its declared type.
    public func run(_ inputs: [String: Tensor]) throws -> [String: Tensor] {
        lock.lock()
        defer { lock.unlock() }
        if let n = options.threads { omp_set_num_threads(Int32(n)) }
        let plan = try plan(for: inputs)
        return try plan.run(inputs)
    }

    /// The steps of the plan for `inputs`, in order (internal for tests).
    func stepNames(for inputs: [String: Tensor]) throws -> [String] {
        lock.lock()
        defer { lock.unlock() }
        return try plan(for: inputs).stepNames
    }

    // Small integer inputs (shapes, axes, indices) are treated as constants of the plan, so
    // that shapes depending on them are known when planning.
    private func isSpecialized(_ t: Tensor) -> Bool { t.dataType != .float32 && t.dataType != .float64 && t.dataType != .float16 && t.count <= 64 }

    private func plan(for given: [String: Tensor]) throws -> ExecutionPlan {
        for spec in graph.inputs {
            guard let t = given[spec.name] else { throw ModelError.invalidInput("missing input '\(spec.name)'") }
            if let type = spec.dataType, type != t.dataType {
                throw ModelError.invalidInput("input '\(spec.name)' must be \(type), got \(t.dataType)")
            }
            if let dims = spec.shape {
                guard dims.count == t.shape.count else {
                    throw ModelError.invalidInput("input '\(spec.name)' must have rank \(dims.count), got shape \(t.shape)")
                }
                for (d, n) in zip(dims, t.shape) {
                    if case .fixed(let want) = d, want != n {
                        throw ModelError.invalidInput(
                            "input '\(spec.name)' must have shape \(dims.map { if case .fixed(let v) = $0 { "\(v)" } else { "?" } }), got \(t.shape)"
                        )
                    }
                }
            }
        }
        var specialized = Set<String>()
        var key = ""
        for spec in graph.inputs {
            let t = given[spec.name]!
            key += "\(spec.name):\(t.dataType.rawValue):\(t.shape);"
            if isSpecialized(t) {
                specialized.insert(spec.name)
                key += "=\(t.bytes);"
            }
        }
        if let p = plans[key] { return p }
        let p = try ExecutionPlan(graph: graph, inputs: given, specialized: specialized, constantCache: constantCache, workspace: workspace)
        plans[key] = p
        planOrder.append(key)
        if planOrder.count > options.maxPlans { plans[planOrder.removeFirst()] = nil }
        return p
    }
}
