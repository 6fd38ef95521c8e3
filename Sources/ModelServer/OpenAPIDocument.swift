import Foundation

/// The OpenAPI 3.1 description of every route, served at `GET /openapi.json`. It is kept as a
/// file, `Resources/openapi.json`, embedded in the binary at build time (so the server needs no
/// file beside it); `info.version` there reads `SERVER_VERSION` and is filled in from
/// ``ServerInfo/version``, the one place the version is written. Tests check that it names
/// exactly the router's routes, and that live answers match it (schemathesis).
///
/// ```swift
/// let spec = try JSONSerialization.jsonObject(with: Data(OpenAPIDocument.json.utf8))
/// ```
enum OpenAPIDocument {
    static let json: String = String(decoding: PackageResources.openapi_json, as: UTF8.self)
        .replacingOccurrences(of: "\"SERVER_VERSION\"", with: "\"\(ServerInfo.version)\"")
}
