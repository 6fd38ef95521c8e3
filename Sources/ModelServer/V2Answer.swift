import Foundation
import HTTPTypes
import Hummingbird
import OpenInference

/// An inference response: JSON alone, or (binary tensor extension) JSON followed by the
/// outputs' bytes, its length in `Inference-Header-Content-Length`.
struct V2Answer: ResponseGenerator {
    var result: V2Result

    func response(from request: Request, context: some RequestContext) throws -> Response {
        let encoded = try HTTPContext.encoder.encode(result.response)
        let binary = result.binary
        guard !binary.isEmpty else {
            return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: encoded)))
        }
        var headers: HTTPFields = [.contentType: "application/octet-stream"]
        headers[HTTPField.Name("Inference-Header-Content-Length")!] = "\(encoded.count)"
        var buffer = ByteBuffer()
        buffer.writeBytes(encoded)
        buffer.writeBytes(binary)
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: buffer))
    }
}
