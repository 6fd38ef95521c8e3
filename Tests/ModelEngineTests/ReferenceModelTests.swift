import Foundation
import Testing

@testable import ModelEngine

/// Equality with onnxruntime on whole models (see `Tests/Fixtures/reference_models.py`):
/// the demo model on real photos, onnx's light models with random weights, and generated
/// ResNet-, MobileNetV3- and SqueezeNet-shaped networks.
@Suite("Whole models match onnxruntime", .serialized)
struct ReferenceModelTests {
    static var cases: [String] {
        let names = TestData.subfolders(TestData.referenceModels).map(\.lastPathComponent)
        return names.isEmpty ? ["(missing)"] : names
    }

    @Test(arguments: cases)
    func matchesOnnxRuntime(name: String) throws {
        try #require(name != "(missing)", "reference models are missing: run `make test-data`")
        let test = BackendTestCase(folder: TestData.referenceModels.appendingPathComponent(name))
        switch test.run() {
        case .passed: break
        case .skipped(let why): Issue.record("\(name) must run, but: \(why)")
        case .failed(let why): Issue.record("\(name): \(why)")
        }
    }

    /// The demo model exported with a batch dimension, and its batch of 8 photos.
    func demoBatch8() throws -> (Model, Tensor) {
        let folder = TestData.referenceModels.appendingPathComponent("demo_batch8")
        try #require(TestData.exists(folder), "reference models are missing: run `make test-data`")
        return (
            try Model(contentsOf: folder.appendingPathComponent("model.onnx")),
            try TestData.tensor(at: folder.appendingPathComponent("test_data_set_0/input_0.pb"))
        )
    }

    @Test("a batch of 8 equals 8 single runs")
    func batchEqualsSingles() throws {
        let (model, batch) = try demoBatch8()
        let name = model.inputs[0].name
        let output = model.outputs[0].name
        let batched = try model.run([name: batch])[output]!
        let perImage = batch.count / batch.shape[0]
        let classes = batched.count / batch.shape[0]
        let all = batch.floats
        let logits = batched.floats
        for i in 0..<batch.shape[0] {
            let one = Tensor(shape: [1] + batch.shape.dropFirst(), floats: Array(all[(i * perImage)..<((i + 1) * perImage)]))
            let single = try model.run([name: one])[output]!.floats
            let row = Array(logits[(i * classes)..<((i + 1) * classes)])
            let diff = zip(single, row).map { abs($0 - $1) }.max()!
            #expect(diff <= 1e-4, "image \(i): batch and single runs differ by \(diff)")
        }
    }

    @Test("plans for different batch sizes share weights and activation memory without interfering")
    func interleavedBatchSizes() throws {
        let (model, batch) = try demoBatch8()
        let name = model.inputs[0].name
        let output = model.outputs[0].name
        let perImage = batch.count / batch.shape[0]
        let all = batch.floats
        func first(_ n: Int) -> Tensor { Tensor(shape: [n] + batch.shape.dropFirst(), floats: Array(all[0..<(n * perImage)])) }
        // Smaller plans first, so the arena is outgrown and replaced; then back to the small ones.
        let one = try model.run([name: first(1)])[output]!.floats
        let three = try model.run([name: first(3)])[output]!.floats
        let eight = try model.run([name: batch])[output]!.floats
        #expect(try model.run([name: first(1)])[output]!.floats == one, "batch 1 changed after batch 8 ran")
        #expect(try model.run([name: first(3)])[output]!.floats == three, "batch 3 changed after batch 8 ran")
        let classes = eight.count / 8
        #expect(zip(three, eight.prefix(3 * classes)).map { abs($0 - $1) }.max()! <= 1e-4)
        #expect(zip(one, eight.prefix(classes)).map { abs($0 - $1) }.max()! <= 1e-4)
    }

    @Test("an int8 model's plans share its converted weights: another batch size adds none")
    func int8PlansShareWeights() throws {
        let folder = TestData.referenceModels.appendingPathComponent("demo_int8_batch1")
        try #require(TestData.exists(folder), "reference models are missing: run `make test-data`")
        let model = try Model(contentsOf: folder.appendingPathComponent("model.onnx"))
        let image = try TestData.tensor(at: folder.appendingPathComponent("test_data_set_0/input_0.pb"))
        let (name, output) = (model.inputs[0].name, model.outputs[0].name)
        let one = try model.run([name: image])[output]!.floats
        // The int8 weights in oneDNN's layout, about 4.9 MB for this model, and no float copy of
        // any (when the classifier ran in float, its dequantized weights and their conversion
        // brought this to 14 MB).
        let shared = model.constantCache.byteSize
        #expect(shared > 4_000_000 && shared < 6_000_000, "\(shared) bytes")
        let two = try model.run([name: Tensor(shape: [2] + image.shape.dropFirst(), floats: image.floats + image.floats)])[output]!.floats
        #expect(model.constantCache.byteSize == shared)
        #expect(zip(one, two.prefix(one.count)).map { abs($0 - $1) }.max()! <= 1e-4)
    }

    @Test("residual Adds after int8 convolutions run inside them: in place when nothing reads the other operand again, else on a copy")
    func int8ResidualAddsFuse() throws {
        /// The plan's steps and the graph's Add nodes.
        func plan(_ name: String) throws -> (steps: [String], adds: [String]) {
            let folder = TestData.referenceModels.appendingPathComponent(name)
            try #require(TestData.exists(folder), "reference models are missing: run `make test-data`")
            let file = folder.appendingPathComponent("model.onnx")
            let model = try Model(contentsOf: file)
            let input = try TestData.tensor(at: folder.appendingPathComponent("test_data_set_0/input_0.pb"))
            let adds = try Loader.load(contentsOf: file).nodes.filter { $0.opType == "Add" }.map(\.name)
            return (try model.stepNames(for: [model.inputs[0].name: input]), adds)
        }
        // qdq_residual's values match onnxruntime's in `matchesOnnxRuntime`; here, how it ran.
        let residual = try plan("qdq_residual")
        #expect(residual.adds == ["add_copy", "add_in_place"])
        #expect(Set(residual.steps).isDisjoint(with: residual.adds), "\(residual.steps)")
        #expect(residual.steps.filter { $0.hasPrefix("copy ") } == ["copy conv_a_q"], "\(residual.steps)")
        // The demo's nine residual Adds, all in place.
        let demo = try plan("demo_int8_batch1")
        #expect(demo.adds.count == 9)
        #expect(Set(demo.steps).isDisjoint(with: demo.adds), "\(demo.steps)")
        #expect(!demo.steps.contains { $0.hasPrefix("copy ") }, "\(demo.steps)")
        // Float residual Adds likewise: one block's in-place result is overwritten in place by the next.
        let float = try plan("resnet18_like")
        #expect(float.adds.count >= 4)
        #expect(Set(float.steps).isDisjoint(with: float.adds), "\(float.steps)")
        #expect(!float.steps.contains { $0.hasPrefix("copy ") }, "\(float.steps)")
    }

    @Test("a value defined twice fails at load time: planning and shared constants find values by name")
    func redefinedValue() throws {
        let relu = { (name: String) in Node(opType: "Relu", name: name, domain: "", inputs: ["x"], outputs: ["y"], attributes: [:]) }
        let graph = Graph(
            nodes: [relu("first"), relu("second")],
            constants: [:],
            inputs: [ValueSpec(name: "x", dataType: .float32, shape: [.fixed(1)])],
            outputs: [ValueSpec(name: "y", dataType: .float32, shape: nil)],
            opset: 13
        )
        #expect(throws: ModelError.invalidModel("value 'y' is defined more than once (by two nodes, or by a node and an initializer or input)")) {
            try Model(graph: graph, options: .init())
        }
    }

    @Test("an unsupported operator fails at load time, naming every offending node")
    func unsupportedOperators() throws {
        // Two nodes the engine cannot run (an unknown op and a custom domain) and one it can.
        let graph = Graph(
            nodes: [
                Node(opType: "Relu", name: "ok", domain: "", inputs: ["x"], outputs: ["a"], attributes: [:]),
                Node(opType: "NonMaxSuppression", name: "nms", domain: "", inputs: ["a"], outputs: ["b"], attributes: [:]),
                Node(opType: "FancyOp", name: "custom", domain: "com.example", inputs: ["b"], outputs: ["y"], attributes: [:]),
            ],
            constants: [:],
            inputs: [ValueSpec(name: "x", dataType: .float32, shape: [.fixed(1)])],
            outputs: [ValueSpec(name: "y", dataType: .float32, shape: nil)],
            opset: 13
        )
        #expect(
            throws: ModelError.unsupported([
                UnsupportedNode(opType: "NonMaxSuppression", name: "nms", reason: "operator not implemented"),
                UnsupportedNode(opType: "FancyOp", name: "custom", reason: "operator domain 'com.example'"),
            ])
        ) { try Model(graph: graph, options: .init()) }
        let message = ModelError.unsupported([UnsupportedNode(opType: "NonMaxSuppression", name: "nms", reason: "operator not implemented")])
            .description
        #expect(message.contains("NonMaxSuppression 'nms': operator not implemented"))
    }
}
