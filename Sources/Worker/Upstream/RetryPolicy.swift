/// When and how long to wait before another upstream attempt. Pure; the exchange applies it.
struct RetryPolicy: Sendable {
    var maxRetries: Int
    /// Total time all attempts may take, measured from the first one.
    var budgetSeconds: Double
    var baseDelaySeconds: Double
    var maxDelaySeconds: Double = 10

    /// The delay before retry number `retry` (1-based), or nil when no retry should happen.
    /// - Parameters:
    ///   - serverDelay: what the upstream asked for (`retry-after` / `x-ratelimit-reset-*`), honoured up to the budget.
    ///   - elapsed: seconds since the first attempt started.
    ///   - jitter: a value in 0..<1 (injected so tests are deterministic).
    func delay(beforeRetry retry: Int, serverDelay: Double?, elapsed: Double, jitter: Double) -> Double? {
        guard retry <= maxRetries else { return nil }
        let exponential = min(maxDelaySeconds, baseDelaySeconds * Double(1 << min(retry - 1, 20)))
        // Full jitter on the upper half keeps clients of a shared upstream from retrying in lockstep.
        var delay = exponential / 2 + exponential / 2 * jitter
        if let serverDelay { delay = max(delay, serverDelay) }
        guard elapsed + delay <= budgetSeconds else { return nil }
        return delay
    }

    /// The wait the upstream asked for: `retry-after` (seconds or an HTTP date is not used by Cerebras, so
    /// seconds only), else the smallest positive `x-ratelimit-reset-*` that is exhausted. The figures are read as
    /// `UpstreamHeaderMapping` reads them (`Double(plainDecimal:)`, which reads what `Double(_:)` reads).
    static func serverDelay(headers: [(name: String, value: String)]) -> Double? {
        if let retryAfter = headers.firstValue(named: "retry-after"), let seconds = Double(plainDecimal: retryAfter),
            seconds >= 0
        {
            return seconds
        }
        var delay: Double?
        for header in headers where header.name.hasPrefix("x-ratelimit-reset-") {
            let dimension = header.name.dropFirst("x-ratelimit-reset-".count)
            let remaining = headers.firstValue(named: "x-ratelimit-remaining-\(dimension)")
                .flatMap(Double.init(plainDecimal:))
            guard (remaining ?? 0) <= 0, let seconds = Double(plainDecimal: header.value), seconds > 0 else { continue }
            delay = min(delay ?? seconds, seconds)
        }
        return delay
    }
}
