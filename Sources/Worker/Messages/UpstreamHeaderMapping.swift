import NIOHTTP1
import Shared

/// Surfaces the upstream's `x-ratelimit-*` figures as Anthropic's `anthropic-ratelimit-*` headers where the
/// meaning matches: Cerebras's per-minute token budget. (Its request budget is per day; Anthropic's request
/// headers are per minute, so those are not translated.)
enum UpstreamHeaderMapping {
    static func rateLimitHeaders(
        from upstream: [(name: String, value: String)], now: Double = WallClock.now()
    ) -> HTTPHeaders {
        func value(_ name: String) -> String? { upstream.first { $0.name == name }?.value }
        // One array, not `HTTPHeaders.add` per field (see `RequestExchange.baseHeaders`).
        var fields: [(String, String)] = []
        fields.reserveCapacity(3)
        if let limit = value("x-ratelimit-limit-tokens-minute") {
            fields.append(("anthropic-ratelimit-tokens-limit", limit))
        }
        if let remaining = value("x-ratelimit-remaining-tokens-minute") {
            fields.append(("anthropic-ratelimit-tokens-remaining", remaining))
        }
        if let reset = value("x-ratelimit-reset-tokens-minute").flatMap(Double.init) {
            fields.append(("anthropic-ratelimit-tokens-reset", RFC3339.format(now + reset, rounding: .up)))
        }
        return HTTPHeaders(fields)
    }
}
