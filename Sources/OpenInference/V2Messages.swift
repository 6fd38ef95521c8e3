import Foundation

// The Open Inference Protocol's inference messages, as `Codable` types (the REST transport
// reads them from JSON; the gRPC transport builds them from protobuf). Field names are the
// protocol's (snake_case); unknown fields are ignored, as the protocol allows.

/// `POST /v2/models/{model}/infer`: the JSON part of the request.
///
/// ```swift
/// let request = try BodyReader.decode(V2InferRequest.self, from: json, limits: limits)   // REST
/// ```
public struct V2InferRequest: Decodable, Sendable {
    /// One input tensor: `data` in JSON, or `parameters.binary_data_size` bytes after it.
    ///
    /// ```swift
    /// let input = V2InferRequest.Input(name: "input", shape: [1], datatype: "BYTES", parameters: .init(binary_data_size: n))
    /// ```
    public struct Input: Decodable, Sendable {
        public var name: String
        public var shape: [Int]
        public var datatype: String
        public var parameters: Parameters?
        /// Absent when the tensor's bytes follow the JSON (`parameters.binary_data_size`).
        public var data: V2Data?

        public init(name: String, shape: [Int], datatype: String, parameters: Parameters? = nil, data: V2Data? = nil) {
            (self.name, self.shape, self.datatype, self.parameters, self.data) = (name, shape, datatype, parameters, data)
        }
    }
    /// An output the client asks for, e.g. with `parameters.classification` for top-k labels.
    ///
    /// ```swift
    /// let top3 = V2InferRequest.Output(name: "logits", parameters: .init(classification: 3))
    /// ```
    public struct Output: Decodable, Sendable {
        public var name: String
        public var parameters: Parameters?

        public init(name: String, parameters: Parameters? = nil) {
            (self.name, self.parameters) = (name, parameters)
        }
    }
    /// The parameters this server reads, of the many a client may send.
    public struct Parameters: Decodable, Sendable {
        public var binary_data_size: Int?
        public var binary_data: Bool?
        public var binary_data_output: Bool?
        public var classification: Int?

        public init(binary_data_size: Int? = nil, binary_data: Bool? = nil, binary_data_output: Bool? = nil, classification: Int? = nil) {
            (self.binary_data_size, self.binary_data, self.binary_data_output, self.classification) =
                (binary_data_size, binary_data, binary_data_output, classification)
        }
    }

    public var id: String?
    public var parameters: Parameters?
    public var inputs: [Input]
    public var outputs: [Output]?

    public init(id: String? = nil, parameters: Parameters? = nil, inputs: [Input], outputs: [Output]? = nil) {
        (self.id, self.parameters, self.inputs, self.outputs) = (id, parameters, inputs, outputs)
    }
}

/// The answer, less the outputs sent as bytes (`V2Result.binary`).
///
/// ```swift
/// let json = try JSONEncoder().encode(result.response)   // {"model_name": ..., "outputs": [...]}
/// ```
public struct V2InferResponse: Encodable, Sendable {
    public struct Output: Encodable, Sendable {
        public var name: String
        public var datatype: String
        public var shape: [Int]
        public var parameters: Parameters?
        public var data: V2Data?
    }
    public struct Parameters: Encodable, Sendable {
        public var binary_data_size: Int
    }

    public var model_name: String
    public var model_version: String
    public var id: String?
    public var outputs: [Output]
}

/// A tensor's `data`, flattened in row-major order: the protocol allows it flat or nested as the
/// shape, numbers (booleans count 0/1) or, for BYTES, strings. Nesting is bounded before
/// decoding (`BodyReader.decode` refuses JSON nested deeper than 32 levels).
///
/// ```swift
/// let data = try JSONDecoder().decode(V2Data.self, from: Data("[[1, 2], [3, 4]]".utf8))   // .numbers([1, 2, 3, 4])
/// ```
public enum V2Data: Codable, Sendable {
    case numbers([Double])
    case floats([Float])
    case strings([String])

    public init(from decoder: Decoder) throws {
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

    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case .numbers(let v): try c.encode(v)
        case .floats(let v): try c.encode(v)
        case .strings(let v): try c.encode(v)
        }
    }
}
