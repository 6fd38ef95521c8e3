import Foundation
import Hummingbird
import ModelRuntime
import OpenInference

/// `POST /score`: the original Flask app's contract, so existing clients keep working.
///
/// Request: `{"input": "[\"<base64 image>\", ...]"}` — `input` is a JSON-encoded string holding a
/// list of base64 images, each possibly written as `b'...'` (as the original client sends it); a
/// plain JSON list is accepted too. Response: `{"result": [[top-3 [label, percent] per image],
/// "Computed in N ms"]}`.
struct FlaskRoutes {
    let host: ModelHost
    let limits: BodyLimits

    func add(to groups: RouteGroups) {
        groups.predictions.post("/score") { request, _ in
            try BodyReader.requireJSON(request)
            let start = ContinuousClock.now
            let predictor = try host.requirePredictor()
            let body = try await BodyReader.bytes(request, limit: limits.maxBodyBytes)
            let (limits, rowLimits) = (self.limits, predictor.limits)
            let cost = JSONCost()
            let images = try await predictor.offload(releasingMemory: cost.isLarge) {
                try BodyReader.decode(ScoreRequest.self, from: body, limits: limits, cost: cost).images(limits: limits, rowLimits: rowLimits, cost: cost)
            }
            let top = try await predictor.classify(images: images, topK: 3)
            let ms = Int(((ContinuousClock.now - start) / .milliseconds(1)).rounded())
            return ScoreResponse(perImage: top, timing: "Computed in \(ms) ms")
        }
    }
}

/// The body of `POST /score`.
struct ScoreRequest: Decodable {
    /// A JSON list of base64 images, or (as the original client sends it) a string holding one.
    enum Input: Decodable {
        case list([String])
        case text(String)

        init(from decoder: Decoder) throws {
            let c = try decoder.singleValueContainer()
            if let text = try? c.decode(String.self) {
                self = .text(text)
            } else {
                self = .list(try c.decode([String].self))
            }
        }
    }

    var input: Input

    /// The decoded image bytes (at most `rowLimits.maxRows` of them).
    func images(limits: BodyLimits, rowLimits: RequestLimits, cost: JSONCost? = nil) throws -> [[UInt8]] {
        var list: [String]
        switch input {
        case .list(let l): list = l
        case .text(let text):
            do { list = try BodyReader.decode([String].self, from: Array(text.utf8), limits: limits, cost: cost) } catch PredictionError.invalid(_) {
                throw PredictionError.invalid("\"input\" must be a JSON list of base64 images (or a string holding one)")
            }
        }
        guard !list.isEmpty else { throw PredictionError.invalid("\"input\" holds no images") }
        try rowLimits.checkRows(list.count, "images")
        return try list.enumerated().map { i, item in
            var text = Substring(item)
            // The original client sends str(base64 bytes), i.e. b'...'.
            if text.hasPrefix("b'") && text.hasSuffix("'") && text.count >= 3 { text = text.dropFirst(2).dropLast() }
            return try Base64Image.decode(String(text), path: "input[\(i)]")
        }
    }
}

/// `{"result": [[[label, percent], ...] per image, "Computed in N ms"]}`: the Flask app's
/// answer, a list of two different things, so encoded by hand.
struct ScoreResponse: ResponseEncodable {
    var perImage: [[Classifier.Prediction]]
    var timing: String

    func encode(to encoder: Encoder) throws {
        var object = encoder.container(keyedBy: CodingKeys.self)
        var result = object.nestedUnkeyedContainer(forKey: .result)
        var images = result.nestedUnkeyedContainer()
        for predictions in perImage {
            var list = images.nestedUnkeyedContainer()
            for p in predictions {
                var pair = list.nestedUnkeyedContainer()
                try pair.encode(p.label)
                try pair.encode((Double(p.score) * 100_000).rounded() / 1000)
            }
        }
        try result.encode(timing)
    }

    enum CodingKeys: String, CodingKey { case result }
}
