// swift-tools-version:6.0
import PackageDescription

// Dependencies point one way: ModelServer (HTTP) → OpenInference → ModelRuntime → ModelEngine /
// ImagePipeline / ModelStore; ModelGRPC → ModelServer (the host both transports share), OpenInference.
// ModelFetch (libcurl) is used only by the `model-fetch` build-time tool, so `model-server`
// never links libcurl.

// The libFuzzer targets are built only when asked (`Fuzz/run` sets MODEL_SERVER_FUZZ=1), as
// Hummingbird gates its benchmarks: other builds do not compile them.
let fuzzTargets: [Target] =
    Context.environment["MODEL_SERVER_FUZZ"] == nil
    ? []
    : [
        .executableTarget(name: "FuzzImage", dependencies: ["ImagePipeline"], path: "Fuzz/Image"),
        .executableTarget(
            name: "FuzzRequest",
            dependencies: [
                "ModelServer", "ModelRuntime",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
            ],
            path: "Fuzz/Request"
        ),
        .executableTarget(
            name: "FuzzGRPC",
            dependencies: [
                "ModelGRPC", "ModelServer",
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Fuzz/GRPC"
        ),
    ]

let package = Package(
    name: "swift-model-server",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "model-server", targets: ["ModelServerCLI"]),
        .executable(name: "model-fetch", targets: ["ModelFetchCLI"]),
        .executable(name: "model-infer", targets: ["ModelInferCLI"]),
        .library(name: "ModelEngine", targets: ["ModelEngine"]),
        .library(name: "ImagePipeline", targets: ["ImagePipeline"]),
        .library(name: "ModelStore", targets: ["ModelStore"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-protobuf.git", from: "1.39.0"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "3.12.3"),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.8.0"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-extras.git", from: "1.35.2"),
        .package(url: "https://github.com/apple/swift-nio-http2.git", from: "1.46.0"),
        .package(url: "https://github.com/grpc/grpc-swift-2.git", from: "2.4.3"),
        .package(url: "https://github.com/grpc/grpc-swift-nio-transport.git", from: "2.9.2"),
        .package(url: "https://github.com/grpc/grpc-swift-protobuf.git", from: "2.4.1"),
    ],
    targets: [
        // C libraries from Debian, one target each.
        .systemLibrary(name: "CDNNL", path: "Sources/CDNNL", providers: [.apt(["libdnnl-dev"])]),
        .systemLibrary(name: "CTurboJPEG", path: "Sources/CTurboJPEG", providers: [.apt(["libturbojpeg0-dev"])]),
        .systemLibrary(name: "CSpng", path: "Sources/CSpng", providers: [.apt(["libspng-dev"])]),
        .systemLibrary(name: "CCurl", path: "Sources/CCurl", providers: [.apt(["libcurl4-openssl-dev"])]),
        .systemLibrary(name: "CZlib", path: "Sources/CZlib", providers: [.apt(["zlib1g-dev"])]),

        .target(
            name: "ModelEngine",
            dependencies: ["CDNNL", .product(name: "SwiftProtobuf", package: "swift-protobuf")],
            exclude: ["Proto/README.md"]
        ),
        .target(name: "ImagePipeline", dependencies: ["CTurboJPEG", "CSpng"], linkerSettings: [.linkedLibrary("m", .when(platforms: [.linux]))]),
        .target(name: "ModelStore", dependencies: [.product(name: "Crypto", package: "swift-crypto")]),
        .target(
            name: "ModelFetch",
            dependencies: ["CCurl", "CZlib", "ModelStore", .product(name: "Crypto", package: "swift-crypto")]
        ),
        // What a prediction is, whatever transport carries it: batching, pre/post-processing, limits.
        .target(name: "ModelRuntime", dependencies: ["ModelEngine", "ImagePipeline", "ModelStore"]),
        // The Open Inference Protocol (V2) without a transport: its messages, tensors checked
        // against the model, and answers; the REST and gRPC transports share it.
        .target(name: "OpenInference", dependencies: ["ModelRuntime", "ModelEngine", "ModelStore"]),
        .target(
            name: "ModelServer",
            dependencies: [
                "ModelRuntime", "OpenInference", "ModelEngine", "ImagePipeline", "ModelStore",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
            ],
            // The OpenAPI document, compiled into the binary (PackageResources.openapi_json).
            resources: [.embedInCode("Resources/openapi.json")]
        ),
        // The Open Inference Protocol's gRPC service (and gRPC health) beside the HTTP server,
        // on the same model host, limits, keys and drain. Generated code in Proto/ (`make grpc-proto`).
        .target(
            name: "ModelGRPC",
            dependencies: [
                "ModelServer", "OpenInference", "ModelRuntime", "ModelEngine",
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCNIOTransportHTTP2Posix", package: "grpc-swift-nio-transport"),
                .product(name: "GRPCProtobuf", package: "grpc-swift-protobuf"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP2", package: "swift-nio-http2"),
                .product(name: "NIOHPACK", package: "swift-nio-http2"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ],
            exclude: ["Proto/generate.py"]
        ),
        .executableTarget(
            name: "ModelServerCLI",
            dependencies: [
                "ModelServer", "ModelGRPC", "ModelRuntime", "ModelEngine", "ImagePipeline",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // Classify files, or time the engine, without a server: no HTTP stack linked in.
        .executableTarget(
            name: "ModelInferCLI",
            dependencies: ["ModelRuntime", "ModelEngine", "ModelStore", .product(name: "ArgumentParser", package: "swift-argument-parser")]
        ),
        .executableTarget(
            name: "ModelFetchCLI",
            dependencies: [
                "ModelFetch", "ModelStore",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),

        // Paths to the demo model, test data and binaries, shared by the test targets,
        // and TinyModel: a model folder and a stand-in engine for in-process tests without fixtures.
        .target(name: "TestSupport", dependencies: ["ModelRuntime", "ModelEngine"], path: "Tests/TestSupport"),
        // TinyModel behind a whole ModelServer, for the in-process REST and gRPC tests (kept out
        // of TestSupport so the engine and fetch tests do not link the HTTP stack).
        .target(
            name: "ServerTestSupport",
            dependencies: ["ModelServer", "TestSupport", .product(name: "Logging", package: "swift-log")],
            path: "Tests/ServerTestSupport"
        ),
        .testTarget(name: "ModelEngineTests", dependencies: ["ModelEngine"]),
        .testTarget(name: "ModelRuntimeTests", dependencies: ["ModelRuntime", "ImagePipeline", "ModelStore", "TestSupport"]),
        .testTarget(name: "ImagePipelineTests", dependencies: ["ImagePipeline"]),
        .testTarget(name: "ModelStoreTests", dependencies: ["ModelStore"]),
        .testTarget(name: "ModelFetchTests", dependencies: ["ModelFetch", "TestSupport", .product(name: "Crypto", package: "swift-crypto")]),
        .testTarget(
            name: "ModelServerTests",
            dependencies: [
                "ModelServer", "ModelRuntime", "ModelEngine", "TestSupport", "ServerTestSupport",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .testTarget(
            name: "ModelGRPCTests",
            dependencies: [
                "ModelGRPC", "ModelServer", "TestSupport", "ServerTestSupport",
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
    ] + fuzzTargets
)
