import NIOConcurrencyHelpers
import Shared

/// The worker's in-process counters, gauges and histograms, sent to the master with each heartbeat.
///
/// Two ways in. `increment` and `observe` take a family and labels: simple, and right for rare events (a shed
/// request, an upstream error). What every request records (`recordRequest`, `recordTokens`, `recordFirstToken`,
/// `recordCacheLookup`, `upstreamStarted`/`upstreamEnded`) goes through slots instead: each series is resolved once
/// to an index into plain arrays and found again through a memo keyed by the call's own values (a route, a model
/// name), so the hot path renders no label text and hashes only those values. Both ways add up to the same snapshot.
final class WorkerMetrics: Sendable {
    enum CacheLookup: String, CaseIterable, Sendable { case bypass, hit, miss, error }

    private let state = NIOLockedValueBox(State())

    func current() -> MetricsSnapshot { state.withLockedValue { $0.snapshot() } }

    func increment(_ family: MetricFamily, _ labels: [(String, String)] = [], by amount: Double = 1) {
        let series = MetricsSnapshot.Series(family.name, labels)
        state.withLockedValue { $0.rare.counters[series, default: 0] += amount }
    }

    func observe(_ family: MetricFamily, _ labels: [(String, String)] = [], _ value: Double) {
        let series = MetricsSnapshot.Series(family.name, labels)
        state.withLockedValue { state in
            // One hash lookup: the default is built only for a new series.
            state.rare.histograms[series, default: MetricsSnapshot.Histogram(bounds: MetricFamily.durationBuckets)]
                .observe(value)
        }
    }

    /// A request has ended: `requests_total` and the request-duration histogram.
    func recordRequest(route: String, status: Int, model: String, streaming: Bool, seconds: Double) {
        let key = RequestKey(route: route, statusClass: status / 100, model: model, streaming: streaming)
        state.withLockedValue { state in
            let slots = state.requestSlots[key] ?? state.resolve(key)
            state.counters.values[slots.count] += 1
            state.histograms.values[slots.duration].observe(seconds)
        }
    }

    /// What the upstream reported a request cost, by model.
    func recordTokens(model: String, input: Int, output: Int, cacheRead: Int) {
        state.withLockedValue { state in
            let slots = state.tokenSlots[model] ?? state.resolveTokens(model: model)
            state.counters.values[slots.input] += Double(input)
            state.counters.values[slots.output] += Double(output)
            state.counters.values[slots.cacheRead] += Double(cacheRead)
        }
    }

    func recordFirstToken(model: String, seconds: Double) {
        state.withLockedValue { state in
            let slot = state.firstTokenSlots[model] ?? state.resolveFirstToken(model: model)
            state.histograms.values[slot].observe(seconds)
        }
    }

    func recordCacheLookup(_ result: CacheLookup) {
        state.withLockedValue { state in
            let slot = state.cacheLookups[result.index] ?? state.resolve(result)
            state.counters.values[slot] += 1
        }
    }

    /// An upstream slot was taken (`active_upstream`, and `active_streams` for a stream).
    func upstreamStarted(streaming: Bool) { adjustInFlight(by: 1, streaming: streaming) }

    /// An upstream slot was given back.
    func upstreamEnded(streaming: Bool) { adjustInFlight(by: -1, streaming: streaming) }

    private func adjustInFlight(by amount: Double, streaming: Bool) {
        state.withLockedValue { state in
            state.gauges.values[state.activeUpstream] += amount
            if streaming { state.gauges.values[state.activeStreams] += amount }
        }
    }
}

extension WorkerMetrics.CacheLookup {
    fileprivate var index: Int {
        switch self {
        case .bypass: 0
        case .hit: 1
        case .miss: 2
        case .error: 3
        }
    }
}

private struct RequestKey: Hashable, Sendable {
    var route: String
    var statusClass: Int
    var model: String
    var streaming: Bool
}

private struct RequestSlots: Sendable {
    var count: Int
    var duration: Int
}

private struct TokenSlots: Sendable {
    var input: Int
    var output: Int
    var cacheRead: Int
}

/// Series resolved to indices into one array of values.
private struct SlotTable<Value: Sendable>: Sendable {
    private(set) var series: [MetricsSnapshot.Series] = []
    var values: [Value] = []
    private var slots: [MetricsSnapshot.Series: Int] = [:]

    mutating func slot(_ series: MetricsSnapshot.Series, initial: @autoclosure () -> Value) -> Int {
        if let slot = slots[series] { return slot }
        slots[series] = values.count
        self.series.append(series)
        values.append(initial())
        return values.count - 1
    }
}

private struct State: Sendable {
    var rare = MetricsSnapshot()
    var counters = SlotTable<Double>()
    var gauges = SlotTable<Double>()
    var histograms = SlotTable<MetricsSnapshot.Histogram>()
    var requestSlots: [RequestKey: RequestSlots] = [:]
    /// By model.
    var tokenSlots: [String: TokenSlots] = [:]
    var firstTokenSlots: [String: Int] = [:]
    /// By `CacheLookup.index`; resolved on first use, so a gateway without a cache shows no cache series.
    var cacheLookups = [Int?](repeating: nil, count: WorkerMetrics.CacheLookup.allCases.count)
    /// The in-flight gauges, reported (as 0) from the start.
    let activeUpstream: Int
    let activeStreams: Int

    init() {
        activeUpstream = gauges.slot(MetricsSnapshot.Series(MetricFamily.activeUpstream.name), initial: 0)
        activeStreams = gauges.slot(MetricsSnapshot.Series(MetricFamily.activeStreams.name), initial: 0)
    }

    mutating func resolve(_ result: WorkerMetrics.CacheLookup) -> Int {
        let slot = counters.slot(MetricsSnapshot.Series(MetricFamily.cacheRequests.name, [("result", result.rawValue)]),
                                 initial: 0)
        cacheLookups[result.index] = slot
        return slot
    }

    /// Status classes keep the label set bounded: 2xx, 4xx, 5xx.
    mutating func resolve(_ key: RequestKey) -> RequestSlots {
        let streaming = key.streaming ? "true" : "false"
        let count = counters.slot(MetricsSnapshot.Series(MetricFamily.requests.name, [
            ("model", key.model), ("route", key.route), ("status", "\(key.statusClass)xx"), ("stream", streaming),
        ]), initial: 0)
        let duration = histograms.slot(
            MetricsSnapshot.Series(MetricFamily.requestDuration.name, [("route", key.route), ("stream", streaming)]),
            initial: MetricsSnapshot.Histogram(bounds: MetricFamily.durationBuckets))
        let slots = RequestSlots(count: count, duration: duration)
        requestSlots[key] = slots
        return slots
    }

    mutating func resolveTokens(model: String) -> TokenSlots {
        func tokens(_ direction: String) -> Int {
            counters.slot(MetricsSnapshot.Series(MetricFamily.tokens.name, [("direction", direction), ("model", model)]),
                          initial: 0)
        }
        let slots = TokenSlots(input: tokens("input"), output: tokens("output"), cacheRead: tokens("cache_read"))
        tokenSlots[model] = slots
        return slots
    }

    mutating func resolveFirstToken(model: String) -> Int {
        let slot = histograms.slot(MetricsSnapshot.Series(MetricFamily.timeToFirstToken.name, [("model", model)]),
                                   initial: MetricsSnapshot.Histogram(bounds: MetricFamily.durationBuckets))
        firstTokenSlots[model] = slot
        return slot
    }

    /// The rare-event series plus every slot (a series both ways in adds up).
    func snapshot() -> MetricsSnapshot {
        var slotted = MetricsSnapshot()
        for (series, value) in zip(counters.series, counters.values) { slotted.counters[series] = value }
        for (series, value) in zip(gauges.series, gauges.values) { slotted.gauges[series] = value }
        for (series, histogram) in zip(histograms.series, histograms.values) { slotted.histograms[series] = histogram }
        var snapshot = rare
        snapshot.add(slotted)
        return snapshot
    }
}
