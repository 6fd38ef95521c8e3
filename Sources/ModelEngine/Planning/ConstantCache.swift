/// Weights converted to oneDNN layouts, shared by all of a model's execution plans.
///
/// Every batch size gets its own plan, but a convolution's weights are the same in each, and
/// usually in the same layout: converting them once per model instead of once per plan keeps a
/// model's memory close to one copy of its weights. Only graph initializers are shared (their
/// name fixes their content); constants folded from shapes may differ from plan to plan.
final class ConstantCache {
    private var entries: [String: [(md: MemoryDesc, buffer: AlignedBuffer)]] = [:]

    /// The buffer for initializer `name` in layout `md`, converted by `make` the first time.
    func buffer(_ name: String, md: MemoryDesc, make: () throws -> AlignedBuffer) rethrows -> AlignedBuffer {
        if let hit = entries[name]?.first(where: { $0.md == md }) { return hit.buffer }
        let buffer = try make()
        entries[name, default: []].append((md, buffer))
        return buffer
    }

    var byteSize: Int { entries.values.joined().reduce(0) { $0 + $1.buffer.size } }
}
