/// A log-linear histogram of non-negative integers (nanoseconds here), HdrHistogram-style.
///
/// Values below 256 get a bucket each; above, every power of two is split into 128 linear sub-buckets,
/// so any recorded value is reported within 1/128 (< 0.8 %) of its true value. Recording is a
/// `leadingZeroBitCount` and an array increment; histograms merge by adding counts.
struct Histogram: Sendable {
    static let subBucketBits = 7
    static let subBucketCount = 1 << subBucketBits  // 128
    static let bucketCount = (64 - subBucketBits) * subBucketCount + 2 * subBucketCount

    private(set) var counts: [UInt64]
    private(set) var total: UInt64 = 0
    private(set) var minValue: UInt64 = .max
    private(set) var maxValue: UInt64 = 0
    private(set) var sum: Double = 0

    init() {
        counts = [UInt64](repeating: 0, count: Self.bucketCount)
    }

    @inline(__always)
    static func index(of value: UInt64) -> Int {
        let msb = 63 - value.leadingZeroBitCount  // -1 for 0
        if msb <= subBucketBits { return Int(value) }  // < 256: exact
        let shift = msb - subBucketBits
        return shift * subBucketCount + Int(value >> UInt64(shift))
    }

    /// The lowest value that lands in bucket `index`.
    static func lowerBound(of index: Int) -> UInt64 {
        if index < 2 * subBucketCount { return UInt64(index) }
        let shift = index / subBucketCount - 1
        let sub = index - shift * subBucketCount
        return UInt64(sub) << UInt64(shift)
    }

    static func upperBound(of index: Int) -> UInt64 {
        if index < 2 * subBucketCount { return UInt64(index) }
        let shift = index / subBucketCount - 1
        return lowerBound(of: index) + (UInt64(1) << UInt64(shift)) - 1
    }

    @inline(__always)
    mutating func record(_ value: UInt64) {
        counts[Self.index(of: value)] &+= 1
        total &+= 1
        if value < minValue { minValue = value }
        if value > maxValue { maxValue = value }
        sum += Double(value)
    }

    mutating func merge(_ other: Histogram) {
        guard other.total > 0 else { return }
        for i in 0..<counts.count where other.counts[i] != 0 { counts[i] &+= other.counts[i] }
        total &+= other.total
        minValue = min(minValue, other.minValue)
        maxValue = max(maxValue, other.maxValue)
        sum += other.sum
    }

    /// The value at quantile `q` (0…1): the midpoint of the bucket holding that rank, clamped to min/max.
    func value(atQuantile q: Double) -> UInt64 {
        guard total > 0 else { return 0 }
        let rank = max(1, UInt64((q * Double(total)).rounded(.up)))
        var seen: UInt64 = 0
        for i in 0..<counts.count where counts[i] != 0 {
            seen &+= counts[i]
            if seen >= rank {
                let mid = (Self.lowerBound(of: i) + Self.upperBound(of: i)) / 2
                return min(max(mid, minValue), maxValue)
            }
        }
        return maxValue
    }

    var mean: Double { total == 0 ? 0 : sum / Double(total) }
}
