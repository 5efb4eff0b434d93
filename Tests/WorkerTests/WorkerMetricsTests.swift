import Shared
import XCTest

@testable import Worker

/// The worker's metrics: what the per-request slots record must be exactly what the labelled calls would have.
final class WorkerMetricsTests: XCTestCase {
    private typealias Series = MetricsSnapshot.Series

    func testSlotsAddUpToTheLabelledSeries() {
        let metrics = WorkerMetrics()
        metrics.upstreamStarted(streaming: true)
        metrics.upstreamStarted(streaming: false)
        metrics.upstreamEnded(streaming: true)
        metrics.recordRequest(route: "messages", status: 200, model: "zai-glm-4.7", streaming: true, seconds: 0.2)
        metrics.recordRequest(route: "messages", status: 201, model: "zai-glm-4.7", streaming: true, seconds: 3)
        metrics.recordRequest(route: "messages", status: 529, model: "zai-glm-4.7", streaming: false, seconds: 0.004)
        metrics.recordRequest(route: "health", status: 200, model: "", streaming: false, seconds: 0.0001)
        metrics.recordTokens(model: "zai-glm-4.7", input: 10, output: 5, cacheRead: 0)
        metrics.recordTokens(model: "zai-glm-4.7", input: 1, output: 2, cacheRead: 3)
        metrics.recordTokens(model: "llama-3.3-70b", input: 7, output: 8, cacheRead: 9)
        metrics.recordFirstToken(model: "zai-glm-4.7", seconds: 0.05)
        metrics.recordCacheLookup(.miss)
        metrics.recordCacheLookup(.miss)
        metrics.recordCacheLookup(.hit)
        // The same series through the labelled way in adds to the slot's value.
        metrics.increment(.tokens, [("model", "zai-glm-4.7"), ("direction", "input")], by: 100)
        metrics.increment(.shed)

        var expected = MetricsSnapshot()
        expected.gauges[Series(MetricFamily.activeUpstream.name)] = 1
        expected.gauges[Series(MetricFamily.activeStreams.name)] = 0
        func requests(_ route: String, _ status: String, _ model: String, _ stream: String) -> Series {
            Series(MetricFamily.requests.name, [("route", route), ("status", status), ("model", model), ("stream", stream)])
        }
        expected.counters[requests("messages", "2xx", "zai-glm-4.7", "true")] = 2
        expected.counters[requests("messages", "5xx", "zai-glm-4.7", "false")] = 1
        expected.counters[requests("health", "2xx", "", "false")] = 1
        func durations(_ values: [Double]) -> MetricsSnapshot.Histogram {
            var histogram = MetricsSnapshot.Histogram(bounds: MetricFamily.durationBuckets)
            for value in values { histogram.observe(value) }
            return histogram
        }
        let duration = MetricFamily.requestDuration.name
        expected.histograms[Series(duration, [("route", "messages"), ("stream", "true")])] = durations([0.2, 3])
        expected.histograms[Series(duration, [("route", "messages"), ("stream", "false")])] = durations([0.004])
        expected.histograms[Series(duration, [("route", "health"), ("stream", "false")])] = durations([0.0001])
        expected.histograms[Series(MetricFamily.timeToFirstToken.name, [("model", "zai-glm-4.7")])] = durations([0.05])
        func tokens(_ direction: String, _ model: String) -> Series {
            Series(MetricFamily.tokens.name, [("direction", direction), ("model", model)])
        }
        expected.counters[tokens("input", "zai-glm-4.7")] = 111
        expected.counters[tokens("output", "zai-glm-4.7")] = 7
        expected.counters[tokens("cache_read", "zai-glm-4.7")] = 3
        expected.counters[tokens("input", "llama-3.3-70b")] = 7
        expected.counters[tokens("output", "llama-3.3-70b")] = 8
        expected.counters[tokens("cache_read", "llama-3.3-70b")] = 9
        expected.counters[Series(MetricFamily.cacheRequests.name, [("result", "miss")])] = 2
        expected.counters[Series(MetricFamily.cacheRequests.name, [("result", "hit")])] = 1
        expected.counters[Series(MetricFamily.shed.name)] = 1

        let snapshot = metrics.current()
        XCTAssertEqual(snapshot.counters, expected.counters)
        XCTAssertEqual(snapshot.gauges, expected.gauges)
        XCTAssertEqual(snapshot.histograms, expected.histograms)
        // The slots keep counting after a snapshot is taken.
        metrics.recordCacheLookup(.hit)
        XCTAssertEqual(metrics.current().counters[Series(MetricFamily.cacheRequests.name, [("result", "hit")])], 2)
    }

    func testNoCacheSeriesUntilTheCacheIsAsked() {
        let metrics = WorkerMetrics()
        metrics.recordRequest(route: "messages", status: 200, model: "m", streaming: false, seconds: 0.1)
        XCTAssertFalse(metrics.current().counters.keys.contains { $0.name == MetricFamily.cacheRequests.name })
    }
}
