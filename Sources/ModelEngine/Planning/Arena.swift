/// Places storages in one buffer so that storages alive at the same time never overlap.
///
/// Greedy by size: the largest storage first, each at the lowest offset that does not collide
/// with an already placed storage whose lifetime overlaps. Peak memory stays close to the
/// largest set of simultaneously live activations.
enum Arena {
    static let alignment = 64

    /// Assigns `offset` to every storage and returns the arena size in bytes.
    static func place(_ storages: [Storage]) -> Int {
        var placed: [Storage] = []
        var total = 0
        for s in storages.sorted(by: { $0.size > $1.size }) {
            let conflicts =
                placed
                .filter { $0.firstStep <= s.lastStep && s.firstStep <= $0.lastStep }
                .sorted { $0.offset < $1.offset }
            var offset = 0
            for c in conflicts {
                if offset + s.size <= c.offset { break }
                offset = max(offset, align(c.offset + c.size))
            }
            s.offset = offset
            total = max(total, offset + s.size)
            placed.append(s)
        }
        return align(total)
    }

    static func align(_ n: Int) -> Int { (n + alignment - 1) / alignment * alignment }
}
