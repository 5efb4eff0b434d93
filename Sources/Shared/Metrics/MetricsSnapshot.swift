/// Cumulative metric values of one process, keyed by series (`name` plus its rendered label set).
///
/// Workers send their whole snapshot with each heartbeat; the master keeps the latest per worker and adds
/// the final snapshots of exited workers, so a lost message never loses counts for good.
public struct MetricsSnapshot: Sendable, Equatable {
    public struct Series: Hashable, Sendable, Comparable {
        public var name: String
        /// Rendered Prometheus labels, sorted by key: `model="zai-glm-4.7",route="messages"`.
        public var labels: String

        public init(_ name: String, _ labels: [(String, String)] = []) {
            self.name = name
            // Runs for every counted event, several times per request: the labels (mostly passed in key order) are
            // copied straight into the string's storage, a value byte by byte only when it needs escaping.
            guard !labels.isEmpty else {
                self.labels = ""
                return
            }
            let sorted = Self.isSortedByKey(labels) ? labels : labels.sorted { Self.byteOrder($0.0, $1.0) }
            // Room for every value escaped in full; the string keeps only what is written.
            var capacity = 0
            for (key, value) in sorted { capacity += key.utf8.count + 2 * value.utf8.count + 4 }
            self.labels = String(unsafeUninitializedCapacity: capacity) { output in
                var end = 0
                for (index, (key, value)) in sorted.enumerated() {
                    if index > 0 { Self.put(UInt8(ascii: ","), into: output, at: &end) }
                    Self.copy(key, into: output, at: &end)
                    Self.put(UInt8(ascii: "="), into: output, at: &end)
                    Self.put(UInt8(ascii: "\""), into: output, at: &end)
                    Self.copyEscaped(value, into: output, at: &end)
                    Self.put(UInt8(ascii: "\""), into: output, at: &end)
                }
                return end
            }
        }

        init(name: String, renderedLabels: String) {
            self.name = name
            labels = renderedLabels
        }

        @inline(__always)
        private static func put(_ byte: UInt8, into output: UnsafeMutableBufferPointer<UInt8>, at end: inout Int) {
            output[end] = byte
            end += 1
        }

        private static func copy(_ text: String, into output: UnsafeMutableBufferPointer<UInt8>, at end: inout Int) {
            text.withBorrowedUTF8 { copy($0, into: output, at: &end) }
        }

        private static func copy(_ bytes: UnsafeBufferPointer<UInt8>, into output: UnsafeMutableBufferPointer<UInt8>,
                                 at end: inout Int) {
            guard let source = bytes.baseAddress, let target = output.baseAddress else { return }
            (target + end).update(from: source, count: bytes.count)
            end += bytes.count
        }

        /// A value escaped for the exposition format: `\\`, `\"` and `\n` take two bytes.
        private static func copyEscaped(_ value: String, into output: UnsafeMutableBufferPointer<UInt8>,
                                        at end: inout Int) {
            value.withBorrowedUTF8 { bytes in
                guard bytes.contains(where: { $0 == UInt8(ascii: "\\") || $0 == UInt8(ascii: "\"") || $0 == 0x0A })
                else { return copy(bytes, into: output, at: &end) }
                for byte in bytes {
                    switch byte {
                    case UInt8(ascii: "\\"), UInt8(ascii: "\""):
                        put(UInt8(ascii: "\\"), into: output, at: &end)
                        put(byte, into: output, at: &end)
                    case 0x0A:
                        put(UInt8(ascii: "\\"), into: output, at: &end)
                        put(UInt8(ascii: "n"), into: output, at: &end)
                    default:
                        put(byte, into: output, at: &end)
                    }
                }
            }
        }

        private static func isSortedByKey(_ labels: [(String, String)]) -> Bool {
            guard labels.count > 1 else { return true }
            for index in 1..<labels.count where byteOrder(labels[index].0, labels[index - 1].0) { return false }
            return true
        }

        /// Label keys are ASCII names: their order is the order of their bytes.
        private static func byteOrder(_ lhs: String, _ rhs: String) -> Bool {
            lhs.utf8.lexicographicallyPrecedes(rhs.utf8)
        }

        public static func < (lhs: Series, rhs: Series) -> Bool {
            (lhs.name, lhs.labels) < (rhs.name, rhs.labels)
        }
    }

    public struct Histogram: Sendable, Equatable {
        public var bounds: [Double]
        /// Non-cumulative counts per bucket; the last entry counts observations above every bound.
        public var counts: [Int]
        public var sum: Double

        public init(bounds: [Double]) {
            self.bounds = bounds
            counts = Array(repeating: 0, count: bounds.count + 1)
            sum = 0
        }

        public mutating func observe(_ value: Double) {
            var index = 0
            while index < bounds.count, value > bounds[index] { index += 1 }
            counts[index] += 1
            sum += value
        }

        public var count: Int { counts.reduce(0, saturatingAdd) }

        mutating func add(_ other: Histogram) {
            guard other.bounds == bounds else { return }
            for index in counts.indices { counts[index] = saturatingAdd(counts[index], other.counts[index]) }
            sum += other.sum
        }
    }

    public var counters: [Series: Double] = [:]
    public var gauges: [Series: Double] = [:]
    public var histograms: [Series: Histogram] = [:]

    public init() {}

    /// Adds another snapshot: counters, gauges and histograms all sum across processes.
    public mutating func add(_ other: MetricsSnapshot) {
        for (series, value) in other.counters { counters[series, default: 0] += value }
        for (series, value) in other.gauges { gauges[series, default: 0] += value }
        for (series, histogram) in other.histograms {
            if histograms[series] == nil {
                histograms[series] = histogram
            } else {
                histograms[series]?.add(histogram)
            }
        }
    }

    /// The same snapshot without its gauges: what a retired worker still contributes.
    public var withoutGauges: MetricsSnapshot {
        var copy = self
        copy.gauges = [:]
        return copy
    }
}

extension MetricsSnapshot {
    public func json() -> JSONValue {
        func series(_ key: Series) -> [(key: String, value: JSONValue)] {
            [("n", .string(key.name)), ("l", .string(key.labels))]
        }
        let counters = self.counters.sorted { $0.key < $1.key }.map { key, value in
            JSONValue.object(JSONObject(series(key) + [("v", .double(value))]))
        }
        let gauges = self.gauges.sorted { $0.key < $1.key }.map { key, value in
            JSONValue.object(JSONObject(series(key) + [("v", .double(value))]))
        }
        let histograms = self.histograms.sorted { $0.key < $1.key }.map { key, histogram in
            JSONValue.object(JSONObject(series(key) + [
                ("b", .array(histogram.bounds.map(JSONValue.double))),
                ("c", .array(histogram.counts.map(JSONValue.int))),
                ("s", .double(histogram.sum)),
            ]))
        }
        return .object(JSONObject([("c", .array(counters)), ("g", .array(gauges)), ("h", .array(histograms))]))
    }

    public init(json: JSONValue) {
        self.init()
        func key(_ entry: JSONValue) -> Series? {
            guard let name = entry["n"]?.stringValue, let labels = entry["l"]?.stringValue else { return nil }
            return Series(name: name, renderedLabels: labels)
        }
        for entry in json["c"]?.arrayValue ?? [] {
            if let series = key(entry), let value = entry["v"]?.doubleValue { counters[series] = value }
        }
        for entry in json["g"]?.arrayValue ?? [] {
            if let series = key(entry), let value = entry["v"]?.doubleValue { gauges[series] = value }
        }
        for entry in json["h"]?.arrayValue ?? [] {
            guard let series = key(entry), let bounds = entry["b"]?.arrayValue?.compactMap(\.doubleValue),
                let counts = entry["c"]?.arrayValue?.compactMap(\.intValue), counts.count == bounds.count + 1,
                counts.allSatisfy({ $0 >= 0 })
            else { continue }
            var histogram = Histogram(bounds: bounds)
            histogram.counts = counts
            histogram.sum = entry["s"]?.doubleValue ?? 0
            histograms[series] = histogram
        }
    }
}

/// Counts from other processes are summed without trapping: a corrupt or hostile snapshot saturates instead of
/// crashing the master.
func saturatingAdd(_ a: Int, _ b: Int) -> Int {
    let (sum, overflow) = a.addingReportingOverflow(b)
    return overflow ? (b > 0 ? Int.max : Int.min) : sum
}
