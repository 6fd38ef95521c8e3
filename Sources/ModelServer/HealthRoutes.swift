import Hummingbird

/// Probes: the Flask app's `GET /`, `GET /version`, and the Open Inference Protocol's health.
struct HealthRoutes {
    let host: ModelHost

    struct VersionInfo: ResponseEncodable {
        struct ModelInfo: Codable {
            var name: String
            var version: String
            var sha256: String
        }
        var name = ServerInfo.name
        var version = ServerInfo.version
        var model: ModelInfo?
        var ready: Bool
    }

    func add(to groups: RouteGroups) {
        let router = groups.open
        router.get("/") { _, _ in "Healthy" }
        router.get("/version") { _, _ in
            let m = host.classifier?.directory.manifest
            return VersionInfo(model: m.map { .init(name: $0.name, version: $0.version, sha256: $0.artifact.sha256) }, ready: host.isReady)
        }
        router.get("/v2/health/live") { _, _ in HTTPResponse.Status.ok }
        router.get("/v2/health/ready") { _, _ in host.isReady ? HTTPResponse.Status.ok : .serviceUnavailable }
    }
}
