/// Constants shared by all of a model's execution plans: weights converted to oneDNN layouts,
/// and constants folded from weights.
///
/// Every batch size gets its own plan, but a convolution's weights are the same in each, and
/// usually in the same layout: converting them once per model instead of once per plan keeps a
/// model's memory close to one copy of its weights. Only plan-invariant values are shared:
/// initializers and what is folded from them alone (their name fixes their content); constants
/// folded from input shapes may differ from plan to plan.
///
/// A quantized model folds `DequantizeLinear` of every int8 weight to float, but only the ones a
/// float kernel reads (a Gemm's, say) are needed: an int8 convolution reads the int8 weights. So
/// a folded constant stays here only once some plan has read it (``keepFolded(readBy:)``); the
/// others are folded again, and dropped again, by each plan.
final class ConstantCache {
    private var entries: [String: [(source: MemoryDesc?, md: MemoryDesc, buffer: AlignedBuffer)]] = [:]
    private var folded: [String: (outputs: [String], tensors: [Tensor])] = [:]
    private var foldedRead: Set<String> = []

    /// The buffer for invariant value `name` in layout `md`, converted from layout `source` (nil:
    /// copied as it is) by `make` the first time. The source matters: a weight can be read
    /// through views of different strides (ConvTranspose's) under the same name.
    func buffer(_ name: String, from source: MemoryDesc? = nil, md: MemoryDesc, make: () throws -> AlignedBuffer) rethrows -> AlignedBuffer {
        if let hit = entries[name]?.first(where: { Self.same($0.source, source) && $0.md == md }) { return hit.buffer }
        let buffer = try make()
        entries[name, default: []].append((source, md, buffer))
        return buffer
    }

    private static func same(_ a: MemoryDesc?, _ b: MemoryDesc?) -> Bool {
        switch (a, b) {
        case (nil, nil): true
        case let (a?, b?): a == b
        default: false
        }
    }

    /// The outputs of a node folded from invariant values, computed by `make` unless cached.
    func folded(_ outputs: [String], make: () throws -> [Tensor]) rethrows -> [Tensor] {
        let key = outputs.joined(separator: "\u{0}")
        if let hit = folded[key] { return hit.tensors }
        let tensors = try make()
        folded[key] = (outputs, tensors)
        return tensors
    }

    /// Keeps the folded constants some plan so far has read (`names`: the values a plan's steps
    /// read, by the name they had before any reorder); drops the rest.
    func keepFolded(readBy names: Set<String>) {
        for (key, entry) in folded where entry.outputs.contains(where: names.contains) { foldedRead.insert(key) }
        folded = folded.filter { foldedRead.contains($0.key) }
    }

    var byteSize: Int {
        entries.values.joined().reduce(0) { $0 + $1.buffer.size }
            + folded.values.reduce(0) { $0 + $1.tensors.reduce(0) { $0 + $1.bytes.count } }
    }
}
