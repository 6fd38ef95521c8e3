import Foundation
import Testing

@testable import ModelEngine

/// ONNX's own backend tests (see `Tests/Fixtures/onnx_conformance.py`). Every test whose
/// operators the engine supports must pass; unsupported ones are skipped and reported.
@Suite("ONNX conformance", .serialized)
struct ConformanceTests {
    static let suites = ["node", "simple", "pytorch-converted", "pytorch-operator", "light"]

    @Test("operator and model tests", arguments: suites)
    func conformance(suite: String) throws {
        let root = TestData.onnxTests.appendingPathComponent(suite)
        try #require(TestData.exists(root), "ONNX test data is missing: run `make test-data` (writes \(root.path))")
        var report = ConformanceReport(suite: suite)
        // CONFORMANCE_FILTER=substring runs only matching tests (for debugging one operator).
        let filter = ProcessInfo.processInfo.environment["CONFORMANCE_FILTER"]
        for folder in TestData.subfolders(root) where filter == nil || folder.lastPathComponent.contains(filter!) {
            let test = BackendTestCase(folder: folder)
            let outcome = test.run()
            report.record(test, outcome)
            if case .failed(let why) = outcome { Issue.record("\(suite)/\(test.name): \(why)") }
        }
        try report.write(to: TestData.cache.appendingPathComponent("conformance-\(suite).json"))
        print("conformance \(suite): \(report.passed) passed, \(report.skipped) skipped, \(report.failed) failed")
        #expect(report.passed > 0)
    }
}

/// Per-test outcomes, written as JSON for `docs/conformance.md`.
struct ConformanceReport: Codable {
    struct Entry: Codable {
        var test: String
        var operators: [String]
        var outcome: String
        var detail: String?
    }
    var suite: String
    var entries: [Entry] = []
    var passed: Int { entries.filter { $0.outcome == "passed" }.count }
    var skipped: Int { entries.filter { $0.outcome == "skipped" }.count }
    var failed: Int { entries.filter { $0.outcome == "failed" }.count }

    init(suite: String) { self.suite = suite }

    mutating func record(_ test: BackendTestCase, _ outcome: BackendTestCase.Outcome) {
        switch outcome {
        case .passed: entries.append(Entry(test: test.name, operators: test.operators, outcome: "passed"))
        case .skipped(let why): entries.append(Entry(test: test.name, operators: test.operators, outcome: "skipped", detail: why))
        case .failed(let why): entries.append(Entry(test: test.name, operators: test.operators, outcome: "failed", detail: why))
        }
    }

    func write(to url: URL) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(self).write(to: url)
    }
}
