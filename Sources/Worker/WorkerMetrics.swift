import NIOConcurrencyHelpers
import Shared

/// The worker's in-process counters and histograms, sent to the master with each heartbeat.
final class WorkerMetrics: Sendable {
    private let snapshot = NIOLockedValueBox(MetricsSnapshot())

    func current() -> MetricsSnapshot { snapshot.withLockedValue { $0 } }

    func increment(_ family: MetricFamily, _ labels: [(String, String)] = [], by amount: Double = 1) {
        let series = MetricsSnapshot.Series(family.name, labels)
        snapshot.withLockedValue { $0.counters[series, default: 0] += amount }
    }

    func adjustGauge(_ family: MetricFamily, by amount: Double) {
        let series = MetricsSnapshot.Series(family.name)
        snapshot.withLockedValue { $0.gauges[series, default: 0] += amount }
    }

    func observe(_ family: MetricFamily, _ labels: [(String, String)] = [], _ value: Double) {
        let series = MetricsSnapshot.Series(family.name, labels)
        snapshot.withLockedValue { snapshot in
            // One hash lookup: the default is built only for a new series.
            snapshot.histograms[series, default: MetricsSnapshot.Histogram(bounds: MetricFamily.durationBuckets)]
                .observe(value)
        }
    }

    /// Status classes keep the label set bounded: 2xx, 4xx, 5xx.
    static func statusClass(_ status: Int) -> String { "\(status / 100)xx" }
}
