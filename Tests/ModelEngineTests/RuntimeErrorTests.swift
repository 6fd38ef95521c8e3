import Testing

@testable import ModelEngine

@Suite("Run-time errors")
struct RuntimeErrorTests {
    /// Integer division by a zero in the request's data fails that run with an error; the model
    /// (and a server holding it) keeps working.
    @Test func integerDivisionByZeroIsAnError() throws {
        let n = 100  // more than 64 elements: not folded at planning time, computed per run
        let graph = Graph(
            nodes: [Node(opType: "Div", name: "div", domain: "", inputs: ["a", "b"], outputs: ["y"], attributes: [:])],
            constants: [:],
            inputs: [ValueSpec(name: "a", dataType: .int64, shape: [.fixed(n)]), ValueSpec(name: "b", dataType: .int64, shape: [.fixed(n)])],
            outputs: [ValueSpec(name: "y", dataType: .int64, shape: nil)],
            opset: 13
        )
        let model = try Model(graph: graph, options: .init())
        let a = Tensor(shape: [n], int64s: (0..<n).map { Int64($0 * 6) })
        let twos = Tensor(shape: [n], int64s: [Int64](repeating: 2, count: n))
        #expect(try model.run(["a": a, "b": twos])["y"]!.int64s == (0..<n).map { Int64($0 * 3) })
        var zeros = [Int64](repeating: 2, count: n)
        zeros[17] = 0
        #expect(throws: ModelError.self) { try model.run(["a": a, "b": Tensor(shape: [n], int64s: zeros)]) }
        #expect(try model.run(["a": a, "b": twos])["y"]!.int64s[50] == 150)
    }
}
