import Shared

/// Surfaces the upstream's `x-ratelimit-*` figures as Anthropic's `anthropic-ratelimit-*` headers where the
/// meaning matches: Cerebras's per-minute token budget. (Its request budget is per day; Anthropic's request
/// headers are per minute, so those are not translated.)
enum UpstreamHeaderMapping {
    private static let limitName = UpstreamTransfer.storedName("x-ratelimit-limit-tokens-minute")
    private static let remainingName = UpstreamTransfer.storedName("x-ratelimit-remaining-tokens-minute")
    private static let resetName = UpstreamTransfer.storedName("x-ratelimit-reset-tokens-minute")

    /// The fields, to go with the answer's others into one `HTTPHeaders` (see `RequestExchange.baseHeaders`).
    static func rateLimitHeaders(
        from upstream: [(name: String, value: String)], now: Double = WallClock.now()
    ) -> [(String, String)] {
        var fields: [(String, String)] = []
        fields.reserveCapacity(3)
        if let limit = upstream.firstValue(named: limitName) {
            fields.append(("anthropic-ratelimit-tokens-limit", limit))
        }
        if let remaining = upstream.firstValue(named: remainingName) {
            fields.append(("anthropic-ratelimit-tokens-remaining", remaining))
        }
        if let reset = upstream.firstValue(named: resetName).flatMap(Double.init(plainDecimal:)) {
            fields.append(("anthropic-ratelimit-tokens-reset", RFC3339.format(now + reset, rounding: .up)))
        }
        return fields
    }
}
