/// The generic cell rate algorithm for one dimension (requests or tokens) of one bucket.
///
/// Why GCRA rather than fixed or sliding windows or a classic token bucket:
/// - one value per dimension, the theoretical arrival time (TAT), so one Redis key and O(1) work;
/// - exact: a cost is admitted iff it fits the allowance left at this microsecond, with no
///   approximation from interpolating windows;
/// - no window-boundary bursts: a fixed window lets a client spend twice the limit around a
///   boundary, GCRA refills continuously;
/// - remaining, reset and retry-after all follow from the TAT by arithmetic, so the headers need
///   no extra state.
///
/// Each unit costs an emission interval `period / limit`. A bucket is full when `TAT <= now`;
/// spending `cost` moves the TAT to `max(TAT, now) + cost × interval`, and is admitted when that
/// lands at most one period ahead of `now`, so the burst capacity is the per-minute limit.
///
/// A cost larger than the whole limit could never fit; like Anthropic's token bucket it is
/// admitted when the bucket is full (and the bucket goes into debt for the excess, delaying
/// later requests), otherwise retry-after is the time until the bucket is full.
///
/// Times are integer microseconds and each charge is rounded down to a whole microsecond, exactly as
/// the Lua script in `RedisRateLimiter+Scripts.swift` does, so both limiters reach the same
/// decisions. Rounding down keeps the full burst admissible; it undercharges each call by less than
/// 1 µs, so n calls in a minute can admit at most `n × limit / 60,000,000` extra units (under 2
/// requests a minute at 10,000 rpm; a few tokens for requests costing hundreds of tokens). A limit
/// above 60,000,000 a minute makes one unit cost under 1 µs, which rounds to nothing: such a
/// dimension only limits costs large enough to amount to whole microseconds. Lua numbers are
/// doubles, so the two implementations agree exactly while `cost × period` and `limit × period`
/// stay below 2^53 (limits and costs below 10^8).
public struct GCRA: Sendable, Equatable {
    /// The period every limit is expressed in: one minute.
    public static let periodMicroseconds: Int64 = 60_000_000

    /// Units admitted per period; always positive (0 means unlimited and has no `GCRA`).
    public let limit: Int

    /// Creates the algorithm for `limit` units per minute, or `nil` when `limit <= 0` (unlimited).
    public init?(limit: Int) {
        guard limit > 0 else { return nil }
        self.limit = limit
    }

    /// The result of checking one cost against a TAT.
    public struct Check: Sendable, Equatable {
        /// Whether the cost fits now.
        public var fits: Bool
        /// `max(TAT, now)`: the TAT if nothing is charged.
        public var currentTAT: Int64
        /// The TAT once the cost is charged.
        public var chargedTAT: Int64
        /// When it does not fit: microseconds until it would.
        public var retryAfterMicroseconds: Int64
    }

    /// The TAT advance for `cost` units: `floor(cost × period / limit)`.
    public func increment(cost: Int) -> Int64 {
        guard cost > 0 else { return 0 }
        return Self.multiplyDivide(Int64(cost), Self.periodMicroseconds, Int64(self.limit))
    }

    /// Checks whether `cost` fits at `now` given the stored TAT (`nil`: never used or expired).
    public func check(tat: Int64?, cost: Int, now: Int64) -> Check {
        let current = max(tat ?? now, now)
        let increment = self.increment(cost: cost)
        // A cost above the whole limit fits exactly when the bucket is full (admit-when-full).
        let capacity = max(Self.periodMicroseconds, increment)
        let charged = current.addingSaturating(increment)
        let ahead = charged - now
        return Check(
            fits: ahead <= capacity,
            currentTAT: current,
            chargedTAT: charged,
            retryAfterMicroseconds: ahead <= capacity ? 0 : ahead - capacity
        )
    }

    /// Units that would still be admitted at `now`.
    public func remaining(tat: Int64?, now: Int64) -> Int {
        let available = Self.periodMicroseconds - (max(tat ?? now, now) - now)
        guard available > 0 else { return 0 }
        let units = Self.multiplyDivide(available, Int64(self.limit), Self.periodMicroseconds)
        return Int(min(units, Int64(self.limit)))
    }

    /// Microseconds until the bucket is full again.
    public func resetMicroseconds(tat: Int64?, now: Int64) -> Int64 {
        max(tat ?? now, now) - now
    }

    /// The TAT after adding `delta` units (negative refunds), never earlier than `now`.
    public func corrected(tat: Int64?, delta: Int, now: Int64) -> Int64 {
        let current = max(tat ?? now, now)
        let magnitude = self.increment(cost: delta.magnitude > Int.max ? Int.max : Int(delta.magnitude))
        let moved = delta >= 0 ? current.addingSaturating(magnitude) : current - magnitude
        return max(moved, now)
    }

    /// `floor(a × b / c)` for non-negative operands with a 128-bit intermediate, saturating instead
    /// of trapping when the quotient does not fit.
    static func multiplyDivide(_ a: Int64, _ b: Int64, _ c: Int64) -> Int64 {
        let saturated = Int64.max / 4
        let product = UInt64(max(0, a)).multipliedFullWidth(by: UInt64(max(0, b)))
        let divisor = UInt64(max(1, c))
        guard product.high < divisor else { return saturated }
        let quotient = divisor.dividingFullWidth(product).quotient
        return quotient > UInt64(saturated) ? saturated : Int64(quotient)
    }
}

extension Int64 {
    /// Addition that stops at `Int64.max`; a TAT pushed that far is simply "in debt forever".
    fileprivate func addingSaturating(_ other: Int64) -> Int64 {
        let (sum, overflow) = self.addingReportingOverflow(other)
        return overflow ? Int64.max : sum
    }
}
