import ArgumentParser
import Foundation
import ModelEngine
import ModelRuntime
import ModelStore

/// `model-infer gate --reference DIR --candidate DIR photos…`: does a changed model (quantized,
/// retrained, re-exported) still answer as the one it replaces, on the engine that will serve it?
/// Exit 0 only if top-1 agreement and mean top-5 overlap reach their thresholds and every
/// `--expect FILE=CLASS` keeps its class; exit 3 when the candidate falls short (1 is any other
/// error: a model that does not load is not a verdict). A pipeline runs it before publishing.
struct Gate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Compare a candidate model with its reference on image files; fail if it agrees less than the thresholds.",
        discussion: """
            Example (the int8 demo model against the fp32 one, as `make test` runs it):
              model-infer gate --reference models/efficientnet-lite0 \\
                --candidate models/efficientnet-lite0-int8 --expect coffee-0.jpg=967 .cache/images/gate/*.jpg
            """
    )

    @Option(help: "The model served today (a folder with model.json).") var reference: String
    @Option(help: "The model that would replace it.") var candidate: String
    @Option(help: "Least share of images whose top-1 class is the reference's.") var minTop1: Double = 0.85
    @Option(help: "Least mean share of the reference's top 5 classes among the candidate's.") var minTop5: Double = 0.80
    @Option(help: "FILE=CLASS: the candidate's top-1 for the image named FILE must be CLASS (repeatable).")
    var expect: [String] = []
    @Argument(help: "JPEG or PNG files (none of them used to calibrate the candidate).") var images: [String]

    func validate() throws {
        guard !images.isEmpty else { throw ValidationError("give the images to compare on") }
        guard (0...1).contains(minTop1), (0...1).contains(minTop5) else { throw ValidationError("thresholds are shares, 0…1") }
        for e in expect where e.split(separator: "=").count != 2 || Int(e.split(separator: "=")[1]) == nil {
            throw ValidationError("--expect takes FILE=CLASS, not '\(e)'")
        }
    }

    func run() async throws {
        OpenMPLaunch.ensureThreadCount(shortSpin: true)
        let models = try [reference, candidate].map { path -> Predictor in
            let dir = try ModelDirectory(URL(fileURLWithPath: path))
            try dir.verify()
            return Predictor(classifier: try Classifier(directory: dir), batching: .init(), limits: .init())
        }
        let expected = Dictionary(uniqueKeysWithValues: expect.map { e in
            let parts = e.split(separator: "=")
            return (String(parts[0]), Int(parts[1])!)
        })
        var agree = 0
        var overlap = 0.0
        var failures: [String] = []
        for path in images {
            let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
            let ref = try await models[0].classify(images: [bytes], topK: 5)[0].map(\.index)
            let cand = try await models[1].classify(images: [bytes], topK: 5)[0].map(\.index)
            agree += ref.first == cand.first ? 1 : 0
            overlap += Double(Set(ref).intersection(cand).count) / 5
            if let want = expected[URL(fileURLWithPath: path).lastPathComponent], cand.first != want {
                failures.append("\(path): the candidate's top-1 is \(cand.first ?? -1), expected \(want)")
            }
        }
        let top1 = Double(agree) / Double(images.count)
        let top5 = overlap / Double(images.count)
        let seen = Set(images.map { URL(fileURLWithPath: $0).lastPathComponent })
        failures += expected.keys.filter { !seen.contains($0) }.sorted().map { "--expect \($0): no such image among the inputs" }
        print(
            String(format: "gate: %d images: top-1 agreement %.3f (min %.2f), mean top-5 overlap %.3f (min %.2f); %d of %d expected classes kept",
                   images.count, top1, minTop1, top5, minTop5, expected.count - failures.count, expected.count)
        )
        if top1 < minTop1 { failures.append(String(format: "top-1 agreement %.3f is below %.2f", top1, minTop1)) }
        if top5 < minTop5 { failures.append(String(format: "top-5 overlap %.3f is below %.2f", top5, minTop5)) }
        for f in failures { print("FAIL: \(f)") }
        if !failures.isEmpty { throw ExitCode(3) }
    }
}
