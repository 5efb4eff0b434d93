import Shared

/// Everything one load run measured; one per event loop, merged at the end.
struct RunStats: Sendable {
    var latency = Histogram()
    var ttfb = Histogram()
    var ttft = Histogram()
    var gaps = Histogram()
    /// Per stream, the longest silence between two content events.
    var maxGapPerStream = Histogram()
    var ok = 0
    var failed = 0
    var aborted = 0
    var chunks = 0
    var sseEvents = 0
    var bytesIn = 0
    var fidelityChecked = 0
    var fidelityFailed = 0
    var firstFailure: String?
    var statusCounts: [Int: Int] = [:]
    var errorCounts: [String: Int] = [:]
    var connectFailures = 0
    var droppedArrivals = 0
    var connectionsOpened = 0

    mutating func error(_ kind: String, detail: String? = nil) {
        errorCounts[kind, default: 0] += 1
        if firstFailure == nil, let detail { firstFailure = detail }
    }

    mutating func merge(_ other: RunStats) {
        latency.merge(other.latency)
        ttfb.merge(other.ttfb)
        ttft.merge(other.ttft)
        gaps.merge(other.gaps)
        maxGapPerStream.merge(other.maxGapPerStream)
        ok += other.ok
        failed += other.failed
        aborted += other.aborted
        chunks += other.chunks
        sseEvents += other.sseEvents
        bytesIn += other.bytesIn
        fidelityChecked += other.fidelityChecked
        fidelityFailed += other.fidelityFailed
        if firstFailure == nil { firstFailure = other.firstFailure }
        for (k, v) in other.statusCounts { statusCounts[k, default: 0] += v }
        for (k, v) in other.errorCounts { errorCounts[k, default: 0] += v }
        connectFailures += other.connectFailures
        droppedArrivals += other.droppedArrivals
        connectionsOpened += other.connectionsOpened
    }
}

extension Histogram {
    /// Percentiles in microseconds.
    var summaryMicros: JSONValue {
        func us(_ nanos: UInt64) -> JSONValue { .double(round3(Double(nanos) / 1_000)) }
        guard total > 0 else { return .object(JSONObject([("count", .int(0))])) }
        return .object(
            JSONObject([
                ("count", .int(Int(total))),
                ("min", us(minValue)), ("p50", us(value(atQuantile: 0.50))), ("p90", us(value(atQuantile: 0.90))),
                ("p99", us(value(atQuantile: 0.99))), ("p999", us(value(atQuantile: 0.999))),
                ("max", us(maxValue)), ("mean", .double(round3(mean / 1_000))),
            ]))
    }
}
