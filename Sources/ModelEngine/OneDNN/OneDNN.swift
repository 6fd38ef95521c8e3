import CDNNL

/// Throws when a oneDNN call does not return `dnnl_success`.
@inline(__always)
func check(_ status: dnnl_status_t, _ what: @autoclosure () -> String) throws {
    guard status == dnnl_success else { throw ModelError.execution("oneDNN \(what()) failed (status \(status.rawValue))") }
}

/// The process-wide CPU engine. oneDNN engines are thread-safe; streams are not.
final class DNNLEngine: @unchecked Sendable {
    static let shared = try! DNNLEngine()
    let handle: dnnl_engine_t

    private init() throws {
        var e: dnnl_engine_t?
        try check(dnnl_engine_create(&e, dnnl_cpu, 0), "engine_create")
        handle = e!
    }
}

/// An in-order execution stream; one per execution plan.
final class DNNLStream {
    let handle: dnnl_stream_t
    init() throws {
        var s: dnnl_stream_t?
        try check(dnnl_stream_create(&s, DNNLEngine.shared.handle, dnnl_stream_default_flags.rawValue), "stream_create")
        handle = s!
    }
    deinit { dnnl_stream_destroy(handle) }
}

typealias MemoryDesc = dnnl_memory_desc_t

extension MemoryDesc {
    /// A dense row-major f32 descriptor (or `format_tag_any` when `any` is set); an empty
    /// descriptor (ndims 0) for shapes oneDNN cannot describe.
    static func plain(_ shape: [Int], type: dnnl_data_type_t = dnnl_f32, any: Bool = false) -> MemoryDesc {
        var md = MemoryDesc()
        let dims = shape.isEmpty ? [Int64(1)] : shape.map(Int64.init)
        guard type != dnnl_data_type_undef, dims.count <= 12 else { return md }
        let status: dnnl_status_t
        if any {
            status = dnnl_memory_desc_init_by_tag(&md, Int32(dims.count), dims, type, dnnl_format_tag_any)
        } else {
            var strides = [Int64](repeating: 1, count: dims.count)
            for i in stride(from: dims.count - 2, through: 0, by: -1) { strides[i] = strides[i + 1] * max(dims[i + 1], 1) }
            status = dnnl_memory_desc_init_by_strides(&md, Int32(dims.count), dims, type, strides)
        }
        return status == dnnl_success ? md : MemoryDesc()
    }

    /// A dense channels-last (`nhwc`) descriptor for an NCHW shape: the layout oneDNN's int8
    /// convolutions read and write on x86.
    static func channelsLast(_ shape: [Int], type: dnnl_data_type_t) -> MemoryDesc {
        precondition(shape.count == 4, "channels-last needs NCHW")
        var md = MemoryDesc()
        let status = dnnl_memory_desc_init_by_tag(&md, 4, shape.map(Int64.init), type, dnnl_acdb)
        return status == dnnl_success ? md : .plain(shape, type: type)
    }

    /// A descriptor with explicit element strides (used for transposed matmul operands).
    static func strided(_ shape: [Int], strides: [Int], type: dnnl_data_type_t = dnnl_f32) -> MemoryDesc {
        var md = MemoryDesc()
        let status = dnnl_memory_desc_init_by_strides(&md, Int32(shape.count), shape.map(Int64.init), type, strides.map(Int64.init))
        precondition(status == dnnl_success, "memory_desc_init_by_strides \(shape)")
        return md
    }

    var byteSize: Int { withUnsafePointer(to: self) { dnnl_memory_desc_get_size($0) } }

    /// The same layout with another element type (a quantized copy of a float tensor, or back).
    func with(type: dnnl_data_type_t) -> MemoryDesc {
        var md = self
        md.data_type = type
        return md
    }

    /// The same logical tensor seen with a different shape of equal element count (plain layouts only).
    func reshaped(_ shape: [Int]) -> MemoryDesc { .plain(shape, type: data_type) }

    static func == (a: MemoryDesc, b: MemoryDesc) -> Bool {
        withUnsafePointer(to: a) { pa in withUnsafePointer(to: b) { pb in dnnl_memory_desc_equal(pa, pb) != 0 } }
    }

    /// True when this is the dense row-major layout of its dims.
    var isPlain: Bool {
        let rank = Int(ndims)
        if rank == 0 { return true }
        let shape = withUnsafeBytes(of: dims) { Array($0.bindMemory(to: Int64.self).prefix(rank)).map(Int.init) }
        return self == MemoryDesc.plain(shape, type: data_type)
    }
}

/// A created primitive with its descriptor; destroyed with it.
final class Primitive {
    let pd: dnnl_primitive_desc_t
    let handle: dnnl_primitive_t

    /// Creates the primitive for an operation descriptor (`dnnl_*_desc_t`).
    convenience init<Desc>(desc: inout Desc, attr: PrimitiveAttr? = nil) throws {
        var pd: dnnl_primitive_desc_t?
        try withUnsafePointer(to: &desc) { ptr in
            try check(
                dnnl_primitive_desc_create(&pd, UnsafeRawPointer(ptr), attr?.handle, DNNLEngine.shared.handle, nil),
                "primitive_desc_create(\(Desc.self))"
            )
        }
        try self.init(pd: pd!)
    }

    /// Wraps an already-created primitive descriptor (reorder, concat, sum).
    init(pd: dnnl_primitive_desc_t) throws {
        self.pd = pd
        var p: dnnl_primitive_t?
        let status = dnnl_primitive_create(&p, pd)
        if status != dnnl_success { dnnl_primitive_desc_destroy(pd) }
        try check(status, "primitive_create")
        handle = p!
    }

    deinit {
        dnnl_primitive_destroy(handle)
        dnnl_primitive_desc_destroy(pd)
    }

    func md(_ what: dnnl_query_t, _ index: Int32 = 0) -> MemoryDesc {
        dnnl_primitive_desc_query_md(pd, what, index).pointee
    }

    var scratchpadSize: Int { md(dnnl_query_scratchpad_md).byteSize }

    static func reorder(from src: MemoryDesc, to dst: MemoryDesc, attr: PrimitiveAttr? = nil) throws -> Primitive {
        var pd: dnnl_primitive_desc_t?
        var s = src
        var d = dst
        let engine = DNNLEngine.shared.handle
        try check(dnnl_reorder_primitive_desc_create(&pd, &s, engine, &d, engine, attr?.handle), "reorder_primitive_desc_create")
        return try Primitive(pd: pd!)
    }
}

/// Post-operations and scales attached to a primitive.
final class PrimitiveAttr {
    let handle: dnnl_primitive_attr_t

    init() throws {
        var a: dnnl_primitive_attr_t?
        try check(dnnl_primitive_attr_create(&a), "primitive_attr_create")
        handle = a!
        // The scratchpad is passed explicitly so one buffer serves a plan's primitives.
        try check(dnnl_primitive_attr_set_scratchpad_mode(handle, dnnl_scratchpad_mode_user), "set_scratchpad_mode")
    }
    deinit { dnnl_primitive_attr_destroy(handle) }

    func setPostOps(_ ops: [PostOp]) throws {
        guard !ops.isEmpty else { return }
        var po: dnnl_post_ops_t?
        try check(dnnl_post_ops_create(&po), "post_ops_create")
        defer { dnnl_post_ops_destroy(po) }
        for op in ops {
            switch op {
            case .eltwise(let alg, let alpha, let beta): try check(dnnl_post_ops_append_eltwise(po, 1, alg, alpha, beta), "append_eltwise")
            case .sum: try check(dnnl_post_ops_append_sum(po, 1), "append_sum")
            case .quantizedSum(let scale, let zero, let type):
                try check(dnnl_post_ops_append_sum_v3(po, scale, zero, type), "append_sum_v3")
            }
        }
        try check(dnnl_primitive_attr_set_post_ops(handle, po), "set_post_ops")
    }

    func setOutputScale(_ scale: Float) throws {
        var s = scale
        try check(dnnl_primitive_attr_set_output_scales(handle, 1, 0, &s), "set_output_scales")
    }

    /// One zero point for the whole of argument `arg` (`DNNL_ARG_SRC`, `DNNL_ARG_DST`).
    func setZeroPoint(_ arg: Int32, _ value: Int32) throws {
        guard value != 0 else { return }
        var z = value
        try check(dnnl_primitive_attr_set_zero_points(handle, arg, 1, 0, &z), "set_zero_points")
    }
}

/// An operation fused onto a primitive's output.
enum PostOp {
    case eltwise(dnnl_alg_kind_t, Float, Float)
    /// `dst += previous dst contents` (a residual `Add`).
    case sum
    /// `dst += scale · (previous dst contents − zero)`, the contents read as `type`: a residual
    /// `Add` of a quantized tensor, in the units of the primitive's output scale.
    case quantizedSum(scale: Float, zero: Int32, type: dnnl_data_type_t)
}

/// A oneDNN memory object over caller-owned storage.
final class Memory {
    let handle: dnnl_memory_t
    init(_ md: MemoryDesc, _ pointer: UnsafeMutableRawPointer?) throws {
        var m: dnnl_memory_t?
        var d = md
        try check(dnnl_memory_create(&m, &d, DNNLEngine.shared.handle, pointer), "memory_create")
        handle = m!
    }
    deinit { dnnl_memory_destroy(handle) }
}

/// Runs one primitive with its arguments; the objects it references are kept alive by the closure.
struct PrimitiveCall {
    let primitive: Primitive
    let memories: [Memory]
    var args: [dnnl_exec_arg_t]

    init(_ primitive: Primitive, _ args: [(Int32, Memory)]) {
        self.primitive = primitive
        self.memories = args.map(\.1)
        self.args = args.map { dnnl_exec_arg_t(arg: $0.0, memory: $0.1.handle) }
    }

    func run(_ stream: DNNLStream) throws {
        let status = args.withUnsafeBufferPointer {
            dnnl_primitive_execute(primitive.handle, stream.handle, Int32($0.count), $0.baseAddress)
        }
        try check(status, "primitive_execute")
    }
}
