import Shared

/// The master ⇄ worker control protocol: `ControlLineBuffer` → `ControlMessage(line:)`, and the metrics a
/// heartbeat carries (`MetricsSnapshot(json:)`, `add`, `PrometheusText.render`) — the same decoding the master
/// applies to the fleet totals other replicas publish in Redis.
///
/// Invariants: nothing traps; the lines fed whole and at fuzzer-chosen cuts decode to the same messages; every
/// decoded message encodes to one newline-terminated line that decodes again, and encoding is stable after
/// that first normalisation.
public func fuzzControl(_ input: [UInt8]) {
    let (body, lengths) = Splits.separate(input)

    var whole = ControlLineBuffer()
    let messages = whole.append(body)

    var chunked = ControlLineBuffer()
    var pieces: [ControlMessage] = []
    for piece in Splits.chunks(body, ends: Splits.boundaries(count: body.count, lengths: lengths, seedFrom: body)) {
        pieces += chunked.append(piece)
    }
    check(pieces == messages, "control lines depend on the cuts\nwhole:   \(shown(messages))\nchunked: \(shown(pieces))")

    for message in messages {
        let line = message.encoded()
        check(line.last == 0x0A && line.dropLast().firstIndex(of: 0x0A) == nil,
              "encoded control message is not one line: \(shown(String(decoding: line, as: UTF8.self)))")
        guard let again = ControlMessage(line: line.dropLast()) else {
            invariantFailed("encoded \(shown(message)) does not decode: \(shown(String(decoding: line, as: UTF8.self)))")
        }
        let normalised = again.encoded()
        check(ControlMessage(line: normalised.dropLast())?.encoded() == normalised,
              "encoding is not stable: \(shown(String(decoding: normalised, as: UTF8.self)))")

        if case .heartbeat(_, let metrics) = message, !hasHugeCounts(metrics) {
            // What the master does with heartbeats (NodeMetrics) and with fleet totals (FleetMetrics).
            var total = MetricsSnapshot()
            total.add(metrics)
            total.add(metrics.withoutGauges)
            _ = PrometheusText.render(total)
            _ = PrometheusText.render(metrics, renaming: { "fleet_" + $0 })
            _ = metrics.json().serialized
        }
    }

    // Any JSON document as a metrics snapshot (FleetMetrics reads them from Redis).
    if let json = try? JSONParser.parse(body) {
        let snapshot = MetricsSnapshot(json: json)
        guard !hasHugeCounts(snapshot) else { return }
        var total = MetricsSnapshot()
        total.add(snapshot)
        _ = PrometheusText.render(total)
        // Non-finite values are written as null and dropped on reading: stable after one trip.
        let once = MetricsSnapshot(json: snapshot.json())
        let twice = MetricsSnapshot(json: once.json())
        check(once == twice, "metrics snapshot does not round-trip: \(shown(once.json())) → \(shown(twice.json()))")
    }
}

/// `FUZZ_IGNORE=metrics-overflow` skips snapshots whose histogram counts can overflow `Int` when summed (the
/// reported trap in `MetricsSnapshot.Histogram.add` / `PrometheusText.render`), so fuzzing can go past it.
private let ignoreMetricsOverflow = StreamGrammar.ignored.contains("metrics-overflow")

private func hasHugeCounts(_ snapshot: MetricsSnapshot) -> Bool {
    guard ignoreMetricsOverflow else { return false }
    return snapshot.histograms.values.contains { histogram in
        histogram.counts.contains { $0 > Int(UInt32.max) || $0 < -Int(UInt32.max) }
    }
}
