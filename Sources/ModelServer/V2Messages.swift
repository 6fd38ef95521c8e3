import Hummingbird

// The Open Inference Protocol's JSON messages, as `Codable` types. Field names are the
// protocol's (snake_case); unknown fields are ignored, as the protocol allows.

/// `POST /v2/models/{model}/infer`: the JSON part of the request.
///
/// ```swift
/// let request = try BodyReader.decode(V2InferRequest.self, from: json, limits: limits)
/// ```
struct V2InferRequest: Decodable {
    struct Input: Decodable {
        var name: String
        var shape: [Int]
        var datatype: String
        var parameters: Parameters?
        /// Absent when the tensor's bytes follow the JSON (`parameters.binary_data_size`).
        var data: V2Data?
    }
    struct Output: Decodable {
        var name: String
        var parameters: Parameters?
    }
    /// The parameters this server reads, of the many a client may send.
    struct Parameters: Decodable {
        var binary_data_size: Int?
        var binary_data: Bool?
        var binary_data_output: Bool?
        var classification: Int?
    }

    var id: String?
    var parameters: Parameters?
    var inputs: [Input]
    var outputs: [Output]?
}

/// The JSON part of the answer; binary outputs follow it (`V2Answer`).
struct V2InferResponse: Encodable {
    struct Output: Encodable {
        var name: String
        var datatype: String
        var shape: [Int]
        var parameters: Parameters?
        var data: V2Data?
    }
    struct Parameters: Encodable {
        var binary_data_size: Int
    }

    var model_name: String
    var model_version: String
    var id: String?
    var outputs: [Output]
}

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

/// A tensor's `data`, flattened in row-major order: the protocol allows it flat or nested as the
/// shape, numbers (booleans count 0/1) or, for BYTES, strings. Nesting is bounded before
/// decoding (`BodyReader.decode` checks `MAX_JSON_DEPTH`).
enum V2Data: Codable {
    case numbers([Double])
    case floats([Float])
    case strings([String])

    init(from decoder: Decoder) throws {
        if let single = try? decoder.singleValueContainer().decode(String.self) {
            self = .strings([single])
            return
        }
        var numbers: [Double] = []
        var strings: [String] = []
        var list = try decoder.unkeyedContainer()
        try Self.flatten(&list, into: &numbers, &strings)
        guard numbers.isEmpty || strings.isEmpty else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "mixes numbers and strings"))
        }
        self = strings.isEmpty ? .numbers(numbers) : .strings(strings)
    }

    /// Numbers first: a failed attempt leaves the container where it was, and numbers are what
    /// large tensors hold.
    private static func flatten(_ list: inout UnkeyedDecodingContainer, into numbers: inout [Double], _ strings: inout [String]) throws {
        while !list.isAtEnd {
            if let d = try? list.decode(Double.self) {
                numbers.append(d)
            } else if let b = try? list.decode(Bool.self) {
                numbers.append(b ? 1 : 0)
            } else if let s = try? list.decode(String.self) {
                strings.append(s)
            } else {
                var nested: UnkeyedDecodingContainer
                do { nested = try list.nestedUnkeyedContainer() } catch DecodingError.typeMismatch(_, let context) {
                    throw DecodingError.dataCorrupted(.init(codingPath: context.codingPath, debugDescription: "must be a number, a string or a list"))
                }
                try flatten(&nested, into: &numbers, &strings)
            }
        }
    }

    func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case .numbers(let v): try c.encode(v)
        case .floats(let v): try c.encode(v)
        case .strings(let v): try c.encode(v)
        }
    }
}
