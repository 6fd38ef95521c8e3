import CDNNL

/// oneDNN execution argument indices (the C macros alias each other and do not import).
enum Arg {
    static let src: Int32 = 1
    static let src1: Int32 = 2
    static let dst: Int32 = 17
    static let weights: Int32 = 33
    static let bias: Int32 = 41
    static let mean: Int32 = 49
    static let variance: Int32 = 50
    static let workspace: Int32 = 64
    static let scratchpad: Int32 = 80
    static let multipleSrc: Int32 = 1024
}

/// A tensor value while a plan is being built: its shape and type, and where it lives.
final class Value {
    let name: String
    let shape: [Int]
    let type: DataType
    /// Known while planning (initializers, folded constants); such values need no step.
    let constant: Tensor?
    /// The oneDNN layout of the value (float32, or 8-bit quantized); plain row-major unless a
    /// primitive chose a blocked one. Types oneDNN has no name for keep an empty descriptor.
    var md: MemoryDesc
    /// Arena storage this value occupies (shared when a step writes in place).
    var storage: Storage?
    /// Constant data in a oneDNN layout (reordered weights), owned by the plan or shared.
    var constantBuffer: AlignedBuffer?
    /// For a constant converted to another layout: the name of the value it was converted from.
    var origin: String?

    var count: Int { shape.reduce(1, *) }
    var byteSize: Int { isPlain ? count * type.size : md.byteSize }
    var isPlain: Bool { type.dnnl == dnnl_data_type_undef || md.isPlain }

    /// Makes this value live in `other`'s storage beside it (a view, or an in-place result while
    /// `other` may still be read); see ``takeOver(_:)`` for results that replace a dead value.
    func share(_ other: Value) {
        storage = other.storage
        storage?.sharers += 1
    }

    /// Makes this value the next occupant of `other`'s storage: an in-place result written by
    /// `other`'s last reader. `other` is never read again, so it no longer counts as a sharer —
    /// and this value may in turn be overwritten in place by its own last reader.
    func takeOver(_ other: Value) {
        storage = other.storage
    }

    init(name: String, shape: [Int], type: DataType, md: MemoryDesc? = nil, constant: Tensor? = nil) {
        self.name = name
        self.shape = shape
        self.type = type
        self.constant = constant
        self.md = md ?? .plain(shape, type: type.dnnl)
    }
}

/// A region of the plan's arena, placed after all steps are known.
final class Storage {
    let size: Int
    var firstStep = Int.max
    var lastStep = -1
    var offset = 0
    /// How many live values this storage holds (views and in-place results ``Value/share(_:)``
    /// it; a result that ``Value/takeOver(_:)`` a dead value replaces it).
    var sharers = 1
    init(size: Int) { self.size = size }
    func touch(_ step: Int) {
        firstStep = min(firstStep, step)
        lastStep = max(lastStep, step)
    }
}

/// 64-byte aligned memory that frees itself.
final class AlignedBuffer: @unchecked Sendable {
    let pointer: UnsafeMutableRawPointer
    let size: Int
    init(size: Int) {
        self.size = size
        pointer = UnsafeMutableRawPointer.allocate(byteCount: max(size, 64), alignment: 64)
        pointer.initializeMemory(as: UInt8.self, repeating: 0, count: max(size, 64))
    }
    deinit { pointer.deallocate() }
}

extension DataType {
    var dnnl: dnnl_data_type_t {
        switch self {
        case .float32: dnnl_f32
        case .int32: dnnl_s32
        case .int8: dnnl_s8
        case .uint8, .bool: dnnl_u8
        case .float16: dnnl_f16
        default: dnnl_data_type_undef
        }
    }
}
