import Foundation
import Hummingbird

/// `POST /score`: the original Flask app's contract, so existing clients keep working.
///
/// Request: `{"input": "[\"<base64 image>\", ...]"}` — `input` is a JSON-encoded string holding a
/// list of base64 images, each possibly written as `b'...'` (as the original client sends it); a
/// plain JSON list is accepted too. Response: `{"result": [[top-3 [label, percent] per image],
/// "Computed in N ms"]}`.
struct FlaskRoutes {
    let model: ModelService
    let limits: ServerConfiguration

    func add(to router: Router<BasicRequestContext>) {
        router.post("/score") { request, _ -> Response in
            try Body.requireJSON(request)
            let start = ContinuousClock.now
            let json = try Body.json(try await Body.read(request, limit: limits.maxBodyBytes))
            let images = try Self.images(from: json)
            let inference = try model.requireInference()
            let top = try await inference.classify(images: images, topK: 3)
            let ms = Int(((ContinuousClock.now - start) / .milliseconds(1)).rounded())
            let perImage: [[[Any]]] = top.map { $0.map { [$0.label, (Double($0.score) * 100_000).rounded() / 1000] } }
            let body = try JSONSerialization.data(withJSONObject: ["result": [perImage, "Computed in \(ms) ms"]])
            return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: body)))
        }
    }

    /// The decoded image bytes from the `input` field.
    static func images(from json: Any) throws -> [[UInt8]] {
        guard let object = json as? [String: Any], let input = object["input"] else {
            throw APIError.badRequest("the body must be a JSON object with an \"input\" field")
        }
        var list: [Any]
        if let text = input as? String {
            guard let inner = try? Body.json(Array(text.utf8)) as? [Any] else {
                throw APIError.badRequest("\"input\" must be a JSON list of base64 images (or a string holding one)")
            }
            list = inner
        } else if let array = input as? [Any] {
            list = array
        } else {
            throw APIError.badRequest("\"input\" must be a list of base64 images")
        }
        guard !list.isEmpty else { throw APIError.badRequest("\"input\" holds no images") }
        return try list.enumerated().map { i, item in
            guard var text = item as? String else { throw APIError.badRequest("input[\(i)] is not a base64 string") }
            // The original client sends str(base64 bytes), i.e. b'...'.
            if text.hasPrefix("b'") && text.hasSuffix("'") && text.count >= 3 { text = String(text.dropFirst(2).dropLast()) }
            guard let data = Data(base64Encoded: text, options: .ignoreUnknownCharacters), !data.isEmpty else {
                throw APIError.badRequest("input[\(i)] is not valid base64")
            }
            return [UInt8](data)
        }
    }
}
