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

    public init() {
        let registry = self.registry
        requestDuration = { route in
            registry.makeDurationHistogram(
                name: "model_server_request_duration_seconds",
                labels: [("route", route)],
                buckets: Self.latencyBuckets,
                help: "End-to-end request time, by route."
            )
        }
        queueDuration = registry.makeDurationHistogram(
            name: "model_server_queue_duration_seconds",
            buckets: Self.latencyBuckets,
            help: "Time requests wait for the dynamic batcher."
        )
        computeDuration = registry.makeDurationHistogram(
            name: "model_server_compute_infer_duration_seconds",
            buckets: Self.latencyBuckets,
            help: "Engine time per batch."
        )
        batchSize = registry.makeValueHistogram(
            name: "model_server_batch_size",
            buckets: [1, 2, 4, 8, 16, 32, 64],
            help: "Rows per engine call after dynamic batching."
        )
        inferenceCount = registry.makeCounter(name: "model_server_inference_count", help: "Inferences performed (rows, across batches).")
        executionCount = registry.makeCounter(name: "model_server_inference_exec_count", help: "Engine executions (batches).")
        pending = registry.makeGauge(name: "model_server_pending_request_count", help: "Rows waiting in the batcher queue.")
    }

    func requests(route: String, status: Int) -> Counter {
        registry.makeCounter(
            name: "model_server_requests_total",
            labels: [("route", route), ("status", "\(status)")],
            help: "HTTP requests, by route and status."
        )
    }

    /// One gRPC call: `model_server_grpc_requests_total{method,code}` and its duration by method.
    public func grpcRequest(method: String, code: String, duration: Duration) {
        registry.makeCounter(
            name: "model_server_grpc_requests_total",
            labels: [("method", method), ("code", code)],
            help: "gRPC calls, by method and status code."
        ).increment()
        registry.makeDurationHistogram(
            name: "model_server_grpc_request_duration_seconds",
            labels: [("method", method)],
            buckets: Self.latencyBuckets,
            help: "End-to-end gRPC call time, by method."
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
            name: "model_server_model_info",
            labels: [("model", name), ("version", version), ("sha256", sha256)],
            help: "The loaded model (value 1)."
        ).set(to: 1)
    }
}

/// Counts requests and their durations by matched route and status.
struct MetricsMiddleware<Context: RequestContext>: RouterMiddleware {
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
