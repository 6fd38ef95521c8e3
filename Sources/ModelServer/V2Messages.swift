import Hummingbird

// The Open Inference Protocol's metadata answers (the inference messages are in OpenInference).

/// `GET /v2`.
struct V2ServerMetadata: ResponseEncodable {
    var name = ServerInfo.name
    var version = ServerInfo.version
    var extensions = ["binary_tensor_data", "classification"]
}

/// `GET /v2/models/{model}`.
struct V2ModelMetadata: ResponseEncodable {
    struct Tensor: Codable {
        var name: String
        var datatype: String
        var shape: [Int]
    }
    var name: String
    var versions: [String]
    var platform = "onnx"
    var inputs: [Tensor]
    var outputs: [Tensor]
}
