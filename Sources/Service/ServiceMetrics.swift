import Foundation
import Metrics
import Prometheus
import Store

/// What `/metrics` shows, in Prometheus text format: jobs by state and queue depth (read from the
/// store at each scrape, so they are right across restarts and several processes), webhook
/// deliveries by state, render wall time, output seconds and finished jobs (this process), and
/// HTTP request latency (Hummingbird's `MetricsMiddleware`, through swift-metrics).
final class ServiceMetrics: Sendable {
    let registry = PrometheusCollectorRegistry()
    let renderSeconds: DurationHistogram
    let outputSeconds: Prometheus.Counter

    init() {
        renderSeconds = registry.makeDurationHistogram(
            name: "mouthpiece_render_seconds",
            buckets: [1, 2, 5, 10, 20, 30, 60, 120, 300, 600, 1800].map { Duration.seconds($0) },
            help: "Wall time of renders in this process, from claim to the finished file.")
        outputSeconds = registry.makeCounter(
            name: "mouthpiece_output_seconds_total", help: "Seconds of video rendered by this process.")
    }

    /// Routes swift-metrics (Hummingbird's HTTP metrics) into the same registry; once per process.
    func bootstrap() {
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.defaultDurationHistogramBuckets = [
            .milliseconds(1), .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50),
            .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1), .milliseconds(2500),
            .seconds(5), .seconds(10), .seconds(30),
        ]
        factory.nameAndLabelSanitizer = { name, labels in
            (Self.sanitize(name), labels.map { (Self.sanitize($0.0), $0.1) })
        }
        MetricsSystem.bootstrap(factory)
    }

    /// A finished render: its wall time, and what it made.
    func rendered(status: VideoStatus, wall: Duration, outputSeconds seconds: Double?) {
        renderSeconds.record(wall)
        if let seconds { outputSeconds.increment(by: seconds) }
        registry.makeCounter(
            name: "mouthpiece_jobs_finished_total", labels: [("status", status.rawValue)],
            help: "Jobs this process finished, by outcome."
        ).increment()
    }

    /// The text of a scrape, with the store's counts read now.
    func scrape(store: any DataStore) async throws -> [UInt8] {
        let counts = try await store.statusCounts()
        for status in VideoStatus.allCases {
            registry.makeGauge(
                name: "mouthpiece_jobs", labels: [("state", status.rawValue)],
                help: "Video jobs in the store, by state."
            ).set(to: Double(counts[status] ?? 0))
        }
        registry.makeGauge(name: "mouthpiece_queue_depth", help: "Jobs waiting for a render worker.")
            .set(to: Double(counts[.queued] ?? 0))
        let hooks = try await store.webhookCounts()
        for status in [WebhookDelivery.Status.pending, .delivered, .failed] {
            registry.makeGauge(
                name: "mouthpiece_webhook_deliveries", labels: [("state", status.rawValue)],
                help: "Webhook messages in the outbox, by state."
            ).set(to: Double(hooks[status] ?? 0))
        }
        return registry.emitToBuffer()
    }

    static func sanitize(_ name: String) -> String {
        String(name.map { $0.isLetter || $0.isNumber || $0 == "_" ? $0 : "_" })
    }
}
