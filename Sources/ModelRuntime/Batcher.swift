import Foundation
import ModelEngine

/// Coalesces concurrent requests into one engine call, like Triton's dynamic batcher.
///
/// Requests wait at most `maxQueueDelay` for company, up to `maxBatchSize` rows, and only while
/// company is on its way: while another request is being prepared
/// (``Predictor/offload(releasingMemory:_:)``: its body parsed, its images decoded). At one
/// connection nothing is, and the engine starts at once instead of idling for the delay. The
/// queue holds at most `maxQueueSize` rows and refuses more at once
/// (``BatcherError/queueFull``) rather than queue forever; a request still queued after `timeout` fails with ``BatcherError/timedOut``.
/// Inference runs on one dedicated thread, off Swift's cooperative pool.
///
/// ```swift
/// let batcher = Batcher(engine: model, inputName: "input", configuration: .init())
/// let outputs = try await batcher.infer(tensor)   // tensor's first dimension is its row count
/// ```
public final class Batcher: @unchecked Sendable {
    public struct Configuration: Sendable {
        public var maxBatchSize = 4
        public var maxQueueDelay: Duration = .milliseconds(2)
        public var maxQueueSize = 64
        public var timeout: Duration = .seconds(30)
        public init() {}
    }

    public enum BatcherError: Error, Equatable {
        case queueFull
        case timedOut
        case stopped
    }

    /// Timings of one request, for metrics.
    public struct Timing: Sendable {
        public var queue: Duration
        public var compute: Duration
    }

    private struct Pending {
        let input: Tensor
        let enqueued: ContinuousClock.Instant
        let continuation: CheckedContinuation<([String: Tensor], Timing), Error>
        var rows: Int { input.shape.first ?? 1 }
    }

    public let configuration: Configuration
    let engine: any InferenceEngine
    let inputName: String
    private let condition = NSCondition()
    private var queue: [Pending] = []
    private var queuedRows = 0
    private var stopped = false
    /// Requests being prepared for the engine (``preparing()``): the company worth waiting for.
    private var inPreparation = 0
    /// Called after each engine run with the batch's row count (metrics).
    let onBatch: @Sendable (Int) -> Void

    public init(engine: any InferenceEngine, inputName: String, configuration: Configuration, onBatch: @escaping @Sendable (Int) -> Void = { _ in }) {
        self.engine = engine
        self.inputName = inputName
        self.configuration = configuration
        self.onBatch = onBatch
        let thread = Thread { [weak self] in self?.loop() }
        thread.name = "inference"
        thread.start()
    }

    public func infer(_ input: Tensor) async throws -> ([String: Tensor], Timing) {
        try await withCheckedThrowingContinuation { continuation in
            condition.lock()
            defer { condition.unlock() }
            let rows = input.shape.first ?? 1
            // The engine plans (and keeps an arena for) each batch size it meets: a larger input
            // would plan a batch larger than the one warmed up at start. Callers split first.
            guard rows <= configuration.maxBatchSize else {
                return continuation.resume(
                    throwing: ModelError.invalidInput("\(rows) rows in one engine call, more than MAX_BATCH_SIZE (\(configuration.maxBatchSize))")
                )
            }
            guard !stopped else { return continuation.resume(throwing: BatcherError.stopped) }
            guard queuedRows + rows <= configuration.maxQueueSize else { return continuation.resume(throwing: BatcherError.queueFull) }
            queue.append(Pending(input: input, enqueued: .now, continuation: continuation))
            queuedRows += rows
            condition.signal()
        }
    }

    /// Counts a request on its way to ``infer(_:)`` (its body being parsed, its images decoded,
    /// or queued for either): queued requests may wait for it. Pair with ``arrived()``.
    func preparing() { condition.withLock { inPreparation += 1 } }

    /// Ends a ``preparing()``. No signal: the request signals when it is queued, and one that
    /// failed leaves the batcher waiting at most until the deadline.
    func arrived() { condition.withLock { inPreparation -= 1 } }

    /// Refuses new requests (``BatcherError/stopped``), runs the queued ones, then ends the
    /// inference thread.
    public func stop() {
        condition.withLock {
            stopped = true
            condition.broadcast()
        }
    }

    private func loop() {
        while let batch = nextBatch() { run(batch) }
    }

    /// Waits for requests, then for company until the oldest has waited `maxQueueDelay` (only
    /// while some is being prepared).
    private func nextBatch() -> [Pending]? {
        condition.lock()
        defer { condition.unlock() }
        while queue.isEmpty {
            if stopped { return nil }
            condition.wait()
        }
        let deadline = queue[0].enqueued + configuration.maxQueueDelay
        while queuedRows < configuration.maxBatchSize && inPreparation > 0 && ContinuousClock.now < deadline && !stopped {
            let remaining = ContinuousClock.now.duration(to: deadline)
            condition.wait(until: Date().addingTimeInterval(Double(remaining.components.attoseconds) / 1e18 + Double(remaining.components.seconds)))
        }
        var batch: [Pending] = []
        var rows = 0
        let now = ContinuousClock.now
        while let first = queue.first, batch.isEmpty || rows + first.rows <= configuration.maxBatchSize {
            queue.removeFirst()
            queuedRows -= first.rows
            if now - first.enqueued > configuration.timeout {
                first.continuation.resume(throwing: BatcherError.timedOut)
                continue
            }
            batch.append(first)
            rows += first.rows
        }
        return batch
    }

    private func run(_ batch: [Pending]) {
        guard !batch.isEmpty else { return }
        let start = ContinuousClock.now
        let rows = batch.reduce(0) { $0 + $1.rows }
        do {
            let input = batch.count == 1 ? batch[0].input : try Self.concatenate(batch.map(\.input))
            let outputs = try engine.run([inputName: input])
            let compute = ContinuousClock.now - start
            onBatch(rows)
            var offset = 0
            for p in batch {
                var mine: [String: Tensor] = [:]
                for (name, t) in outputs { mine[name] = batch.count == 1 ? t : Self.rows(of: t, from: offset, count: p.rows, total: rows) }
                offset += p.rows
                p.continuation.resume(returning: (mine, Timing(queue: start - p.enqueued, compute: compute)))
            }
        } catch {
            for p in batch { p.continuation.resume(throwing: error) }
        }
    }

    static func concatenate(_ tensors: [Tensor]) throws -> Tensor {
        let first = tensors[0]
        guard tensors.allSatisfy({ $0.dataType == first.dataType && Array($0.shape.dropFirst()) == Array(first.shape.dropFirst()) }) else {
            throw ModelError.invalidInput("requests in one batch have different shapes")
        }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(tensors.reduce(0) { $0 + $1.bytes.count })
        for t in tensors { bytes += t.bytes }
        return Tensor(shape: [tensors.reduce(0) { $0 + $1.shape[0] }] + first.shape.dropFirst(), dataType: first.dataType, bytes: bytes)
    }

    static func rows(of t: Tensor, from start: Int, count: Int, total: Int) -> Tensor {
        let per = t.bytes.count / max(total, 1)
        return Tensor(shape: [count] + t.shape.dropFirst(), dataType: t.dataType, bytes: Array(t.bytes[(start * per)..<((start + count) * per)]))
    }
}
