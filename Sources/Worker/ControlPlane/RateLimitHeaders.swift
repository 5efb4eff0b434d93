import NIOHTTP1
import Shared

/// Anthropic's `anthropic-ratelimit-*` headers for a gateway rate-limit decision (RFC 3339 resets).
enum RateLimitHeaders {
    static func headers(for decision: RateLimitDecision, now: Double = WallClock.now()) -> HTTPHeaders {
        // One array, not `HTTPHeaders.add` per field (see `RequestExchange.baseHeaders`).
        var fields: [(String, String)] = []
        fields.reserveCapacity(7)
        if decision.requestsLimit > 0 {
            fields.append(("anthropic-ratelimit-requests-limit", String(decision.requestsLimit)))
            fields.append(("anthropic-ratelimit-requests-remaining", String(decision.requestsRemaining)))
            fields.append(("anthropic-ratelimit-requests-reset",
                           RFC3339.format(now + decision.requestsResetSeconds, rounding: .up)))
        }
        if decision.tokensLimit > 0 {
            fields.append(("anthropic-ratelimit-tokens-limit", String(decision.tokensLimit)))
            fields.append(("anthropic-ratelimit-tokens-remaining", String(decision.tokensRemaining)))
            fields.append(("anthropic-ratelimit-tokens-reset",
                           RFC3339.format(now + decision.tokensResetSeconds, rounding: .up)))
        }
        if let retryAfter = decision.retryAfterSeconds, !decision.allowed {
            fields.append(("retry-after", String(max(1, Int(retryAfter.rounded(.up))))))
        }
        return HTTPHeaders(fields)
    }
}
