/// Activation memory shared by all of a model's execution plans.
///
/// ``Model`` runs one plan at a time, so the plans for batch 1, 2, … 8 can all use the same
/// arena and scratchpad instead of one each (which, for a CNN, costs several megabytes per image
/// per plan). A plan needing more than the current buffer gets a new, larger one; plans made
/// earlier keep the old buffer alive, so run the largest shape first (the server warms up that way).
final class Workspace {
    private var arena: AlignedBuffer?
    private var scratch: AlignedBuffer?

    func arena(atLeast size: Int) -> AlignedBuffer { Self.reuse(&arena, size) }
    func scratch(atLeast size: Int) -> AlignedBuffer { Self.reuse(&scratch, size) }

    private static func reuse(_ slot: inout AlignedBuffer?, _ size: Int) -> AlignedBuffer {
        if let b = slot, b.size >= size { return b }
        let b = AlignedBuffer(size: size)
        slot = b
        return b
    }
}
