/// Renders snapshots in the Prometheus text exposition format (version 0.0.4).
public enum PrometheusText {
    /// - Parameter fleetPrefix: when set, every family is renamed `<prefix>…_fleet_…` for the fleet view.
    public static func render(_ snapshot: MetricsSnapshot, families: [MetricFamily] = MetricFamily.all,
                              renaming: ((String) -> String)? = nil) -> String {
        var out = ""
        for family in families {
            let exported = renaming?(family.name) ?? family.name
            switch family.kind {
            case .counter, .gauge:
                let values = (family.kind == .counter ? snapshot.counters : snapshot.gauges)
                    .filter { $0.key.name == family.name }.sorted { $0.key < $1.key }
                guard !values.isEmpty else { continue }
                out += "# HELP \(exported) \(family.help)\n# TYPE \(exported) \(family.kind.rawValue)\n"
                for (series, value) in values {
                    out += series.labels.isEmpty ? exported : "\(exported){\(series.labels)}"
                    out += " \(format(value))\n"
                }
            case .histogram:
                let values = snapshot.histograms.filter { $0.key.name == family.name }.sorted { $0.key < $1.key }
                guard !values.isEmpty else { continue }
                out += "# HELP \(exported) \(family.help)\n# TYPE \(exported) histogram\n"
                for (series, histogram) in values {
                    let prefix = series.labels.isEmpty ? "" : series.labels + ","
                    var cumulative = 0
                    for (index, bound) in histogram.bounds.enumerated() {
                        cumulative = saturatingAdd(cumulative, histogram.counts[index])
                        out += "\(exported)_bucket{\(prefix)le=\"\(format(bound))\"} \(cumulative)\n"
                    }
                    cumulative = saturatingAdd(cumulative, histogram.counts.last ?? 0)
                    out += "\(exported)_bucket{\(prefix)le=\"+Inf\"} \(cumulative)\n"
                    let labels = series.labels.isEmpty ? "" : "{\(series.labels)}"
                    out += "\(exported)_sum\(labels) \(format(histogram.sum))\n"
                    out += "\(exported)_count\(labels) \(cumulative)\n"
                }
            }
        }
        return out
    }

    static func format(_ value: Double) -> String {
        if value.rounded() == value, abs(value) < 1e15 { return String(Int(value)) }
        return "\(value)"
    }
}
