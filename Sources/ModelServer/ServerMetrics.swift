import Hummingbird
import ModelRuntime
import Prometheus

/// Prometheus metrics, named after Triton's (`nv_inference_*`) with this server's prefix.
///
/// ```swift
/// let metrics = ServerMetrics()
/// metrics.requests(route: "/score", status: 200).increment()
/// let text = metrics.registry.emitToString()   // GET /metrics
/// ```
public final class ServerMetrics: Sendable {
    public let registry = PrometheusCollectorRegistry()
    let requestDuration: @Sendable (String) -> DurationHistogram
    let queueDuration: DurationHistogram
    let computeDuration: DurationHistogram
    let batchSize: ValueHistogram
    let inferenceCount: Counter
    let executionCount: Counter
    let pending: Gauge

    static let latencyBuckets: [Duration] = [
        .milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10), .milliseconds(25),
        .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(2.5), .seconds(5),
    ]

    /// `model_server_<metric>_<unit>`, as Prometheus names are built.
    static func name(_ metric: String, _ unit: String, _ help: String) -> MetricNameDescriptor {
        MetricNameDescriptor(namespace: "model_server", metricName: metric, unitName: unit, helpText: help)
    }

    public init() {
        let registry = self.registry
        requestDuration = { route in
            registry.makeDurationHistogram(
                descriptor: Self.name("request_duration", "seconds", "End-to-end request time, by route."),
                labels: [("route", route)],
                buckets: Self.latencyBuckets
            )
        }
        queueDuration = registry.makeDurationHistogram(
            descriptor: Self.name("queue_duration", "seconds", "Time requests wait for the dynamic batcher."),
            buckets: Self.latencyBuckets
        )
        computeDuration = registry.makeDurationHistogram(
            descriptor: Self.name("compute_infer_duration", "seconds", "Engine time per batch."),
            buckets: Self.latencyBuckets
        )
        batchSize = registry.makeValueHistogram(
            descriptor: Self.name("batch", "size", "Rows per engine call after dynamic batching."),
            buckets: [1, 2, 4, 8, 16, 32, 64]
        )
        inferenceCount = registry.makeCounter(descriptor: Self.name("inference", "count", "Inferences performed (rows, across batches)."))
        executionCount = registry.makeCounter(descriptor: Self.name("inference_exec", "count", "Engine executions (batches)."))
        pending = registry.makeGauge(descriptor: Self.name("pending_request", "count", "Rows waiting in the batcher queue."))
    }

    func requests(route: String, status: Int) -> Counter {
        registry.makeCounter(
            descriptor: Self.name("requests", "total", "HTTP requests, by route and status."),
            labels: [("route", route), ("status", "\(status)")]
        )
    }

    /// One gRPC call: `model_server_grpc_requests_total{method,code}` and its duration by method.
    public func grpcRequest(method: String, code: String, duration: Duration) {
        registry.makeCounter(
            descriptor: Self.name("grpc_requests", "total", "gRPC calls, by method and status code."),
            labels: [("method", method), ("code", code)]
        ).increment()
        registry.makeDurationHistogram(
            descriptor: Self.name("grpc_request_duration", "seconds", "End-to-end gRPC call time, by method."),
            labels: [("method", method)],
            buckets: Self.latencyBuckets
        ).record(duration)
    }

    /// What the runtime's predictor reports, recorded here.
    var predictor: PredictorMetrics {
        let (batch, executions, inferences, pending, queue, compute) = (
            batchSize, executionCount, inferenceCount, self.pending, queueDuration, computeDuration
        )
        return PredictorMetrics(
            batch: { rows in
                batch.record(Double(rows))
                executions.increment()
                inferences.increment(by: Int64(rows))
            },
            pending: { rows in rows >= 0 ? pending.increment(by: Double(rows)) : pending.decrement(by: Double(-rows)) },
            timing: { queued, computing in
                queue.record(queued)
                compute.record(computing)
            }
        )
    }

    func modelInfo(name: String, version: String, sha256: String) {
        registry.makeGauge(
            descriptor: Self.name("model", "info", "The loaded model (value 1)."),
            labels: [("model", name), ("version", version), ("sha256", sha256)]
        ).set(to: 1)
    }
}

/// Counts requests and their durations by matched route and status.
struct RouteMetricsMiddleware<Context: RequestContext>: RouterMiddleware {
    let metrics: ServerMetrics

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let start = ContinuousClock.now
        let response = try await next(request, context)
        let route = context.endpointPath ?? "unmatched"
        metrics.requests(route: route, status: response.status.code).increment()
        let elapsed = ContinuousClock.now - start
        metrics.requestDuration(route).record(elapsed)
        // An access line at debug level. The path only: query strings can carry tokens.
        context.logger.debug(
            "request",
            metadata: [
                "method": "\(request.method)", "path": "\(request.uri.path)", "route": "\(route)",
                "status": "\(response.status.code)",
                "ms": "\(elapsed.components.attoseconds / 1_000_000_000_000_000 + elapsed.components.seconds * 1000)",
            ]
        )
        return response
    }
}
