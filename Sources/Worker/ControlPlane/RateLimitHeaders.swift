import NIOHTTP1
import Shared

/// Anthropic's `anthropic-ratelimit-*` headers for a gateway rate-limit decision (RFC 3339 resets).
enum RateLimitHeaders {
    static func headers(for decision: RateLimitDecision, now: Double = WallClock.now()) -> HTTPHeaders {
        var headers = HTTPHeaders()
        if decision.requestsLimit > 0 {
            headers.add(name: "anthropic-ratelimit-requests-limit", value: String(decision.requestsLimit))
            headers.add(name: "anthropic-ratelimit-requests-remaining", value: String(decision.requestsRemaining))
            headers.add(name: "anthropic-ratelimit-requests-reset",
                        value: RFC3339.format(now + decision.requestsResetSeconds, rounding: .up))
        }
        if decision.tokensLimit > 0 {
            headers.add(name: "anthropic-ratelimit-tokens-limit", value: String(decision.tokensLimit))
            headers.add(name: "anthropic-ratelimit-tokens-remaining", value: String(decision.tokensRemaining))
            headers.add(name: "anthropic-ratelimit-tokens-reset",
                        value: RFC3339.format(now + decision.tokensResetSeconds, rounding: .up))
        }
        if let retryAfter = decision.retryAfterSeconds, !decision.allowed {
            headers.add(name: "retry-after", value: String(max(1, Int(retryAfter.rounded(.up)))))
        }
        return headers
    }
}
