import ArgumentParser
import Foundation
import ModelEngine
import ModelRuntime
import ModelStore

/// `model-infer [classify] --model DIR photo.jpg…`: classifies image files through the same
/// ``Predictor`` (limits, decoding, batching, post-processing) as the server's routes.
struct Classify: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Classify image files; one JSON line per image.")

    @Option(help: "Model folder with model.json.") var model: String
    @Option(help: "How many classes to print per image.") var top: Int = 5
    @Argument(help: "JPEG or PNG files.") var images: [String]

    func run() async throws {
        OpenMPLaunch.ensureThreadCount(shortSpin: true)
        let dir = try ModelDirectory(URL(fileURLWithPath: model))
        try dir.verify()
        let predictor = Predictor(classifier: try Classifier(directory: dir), batching: .init(), limits: .init())
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        struct Line: Encodable {
            var image: String
            var predictions: [Classifier.Prediction]?
            var error: String?
        }
        var failed = false
        for path in images {
            var line = Line(image: path)
            do {
                let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
                line.predictions = try await predictor.classify(images: [bytes], topK: top)[0].map {
                    var p = $0
                    p.score = ($0.score * 1000).rounded() / 1000
                    return p
                }
            } catch {
                line.error = "\(error)"
                failed = true
            }
            print(String(decoding: try encoder.encode(line), as: UTF8.self))
        }
        if failed { throw ExitCode(1) }
    }
}
