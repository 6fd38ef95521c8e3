import ArgumentParser
import Foundation
import ModelEngine

/// The engine side of `bench/engine`: loads a model once, then answers `run N` lines on stdin
/// with N per-inference times in milliseconds, so a driver can alternate it with onnxruntime.
struct EngineBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "engine-bench",
        abstract: "Benchmark helper for bench/engine (reads commands on stdin).",
        shouldDisplay: false
    )

    @Option(help: "ONNX model file.") var model: String
    @Option(help: "Raw little-endian float32 input file.") var input: String
    @Option(help: "Input shape, comma-separated.") var shape: String

    func run() throws {
        // A pure inference loop: OpenMP's spinning waits stay on.
        OpenMPLaunch.ensureThreadCount(shortSpin: false)
        let m = try Model(contentsOf: URL(fileURLWithPath: model))
        let dims = shape.split(separator: ",").compactMap { Int($0) }
        let data = try Data(contentsOf: URL(fileURLWithPath: input))
        let floats = data.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
        guard floats.count == dims.reduce(1, *) else { throw ValidationError("input has \(floats.count) floats, shape needs \(dims.reduce(1, *))") }
        let feeds = [m.inputs[0].name: Tensor(shape: dims, floats: floats)]
        let first = try m.run(feeds)[m.outputs[0].name]!
        print("ready threads=\(Threads.openMP) output=\(first.floats.prefix(3).map { String(format: "%.5f", $0) }.joined(separator: ","))")
        fflush(nil)
        while let line = readLine() {
            let parts = line.split(separator: " ")
            guard parts.first == "run", parts.count == 2, let n = Int(parts[1]) else { break }
            var times: [String] = []
            for _ in 0..<n {
                let t0 = DispatchTime.now().uptimeNanoseconds
                _ = try m.run(feeds)
                times.append(String(format: "%.4f", Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e6))
            }
            print(times.joined(separator: " "))
            fflush(nil)
        }
    }
}
