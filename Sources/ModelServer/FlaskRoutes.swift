import Foundation
import Hummingbird
import ModelRuntime

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
        groups.predictions.post("/score") { request, _ -> Response in
            try RequestBody.requireJSON(request)
            let start = ContinuousClock.now
            let predictor = try host.requirePredictor()
            let body = try await RequestBody.bytes(request, limit: limits.maxBodyBytes)
            let (limits, rowLimits) = (self.limits, predictor.limits)
            let images = try await predictor.offload(releasingMemory: body.count > RequestBody.largeJSON) {
                try Self.images(from: RequestBody.json(body, limits: limits), limits: limits, rowLimits: rowLimits)
            }
            let top = try await predictor.classify(images: images, topK: 3)
            let ms = Int(((ContinuousClock.now - start) / .milliseconds(1)).rounded())
            let perImage: [[[Any]]] = top.map { $0.map { [$0.label, (Double($0.score) * 100_000).rounded() / 1000] } }
            let json = try JSONSerialization.data(withJSONObject: ["result": [perImage, "Computed in \(ms) ms"]])
            return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: json)))
        }
    }

    /// The decoded image bytes from the `input` field (at most `rowLimits.maxRows` of them).
    static func images(from json: Any, limits: BodyLimits, rowLimits: RequestLimits) throws -> [[UInt8]] {
        guard let object = json as? [String: Any], let input = object["input"] else {
            throw PredictionError.invalid("the body must be a JSON object with an \"input\" field")
        }
        var list: [Any]
        if let text = input as? String {
            let parsed: Any?
            do { parsed = try RequestBody.json(Array(text.utf8), limits: limits) } catch PredictionError.invalid(_) { parsed = nil }
            guard let inner = parsed as? [Any] else {
                throw PredictionError.invalid("\"input\" must be a JSON list of base64 images (or a string holding one)")
            }
            list = inner
        } else if let array = input as? [Any] {
            list = array
        } else {
            throw PredictionError.invalid("\"input\" must be a list of base64 images")
        }
        guard !list.isEmpty else { throw PredictionError.invalid("\"input\" holds no images") }
        try rowLimits.checkRows(list.count, "images")
        return try list.enumerated().map { i, item in
            guard var text = item as? String else { throw PredictionError.invalid("input[\(i)] is not a base64 string") }
            // The original client sends str(base64 bytes), i.e. b'...'.
            if text.hasPrefix("b'") && text.hasSuffix("'") && text.count >= 3 { text = String(text.dropFirst(2).dropLast()) }
            return try Base64Image.decode(text, path: "input[\(i)]")
        }
    }
}
