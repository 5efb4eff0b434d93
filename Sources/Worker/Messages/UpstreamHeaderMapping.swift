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
        var headers = HTTPHeaders()
        if let limit = value("x-ratelimit-limit-tokens-minute") {
            headers.add(name: "anthropic-ratelimit-tokens-limit", value: limit)
        }
        if let remaining = value("x-ratelimit-remaining-tokens-minute") {
            headers.add(name: "anthropic-ratelimit-tokens-remaining", value: remaining)
        }
        if let reset = value("x-ratelimit-reset-tokens-minute").flatMap(Double.init) {
            headers.add(name: "anthropic-ratelimit-tokens-reset", value: RFC3339.format(now + reset, rounding: .up))
        }
        return headers
    }
}
