import Foundation

/// Encoded images sent as base64 text (Flask's `input`, KServe V1's `b64`, V2 BYTES `data`):
/// one decoder, so every protocol accepts and refuses the same text.
///
/// ```swift
/// let bytes = try Base64Image.decode(text, path: "instances[0].b64")   // 400 names the field
/// ```
public enum Base64Image {
    /// Decodes standard base64, ignoring whitespace and line breaks; empty or invalid text is
    /// refused with the JSON path of the field in the message.
    public static func decode(_ text: String, path: String) throws -> [UInt8] {
        guard let data = Data(base64Encoded: text, options: .ignoreUnknownCharacters), !data.isEmpty else {
            throw PredictionError.invalid("\(path) is not base64-encoded image data")
        }
        return [UInt8](data)
    }
}
