/// The state of one bucket (two TATs) and the joint request-and-token decision on it.
///
/// Both dimensions are checked first and charged together only when both fit, so a denied
/// request costs nothing. The Lua `acquire` script performs the same steps inside Redis.
public struct RateLimitBucket: Sendable, Equatable {
    /// Theoretical arrival time of the request dimension in microseconds; `nil` when full.
    public var requestTAT: Int64?
    /// Theoretical arrival time of the token dimension in microseconds; `nil` when full.
    public var tokenTAT: Int64?

    /// Creates a full bucket.
    public init(requestTAT: Int64? = nil, tokenTAT: Int64? = nil) {
        self.requestTAT = requestTAT
        self.tokenTAT = tokenTAT
    }

    /// Admits one request costing `tokens` if both dimensions allow it at `now` (microseconds).
    public mutating func acquire(limits: RateLimits, tokens: Int, now: Int64) -> RateLimitDecision {
        let requests = GCRA(limit: limits.requestsPerMinute)
        let tokenLimit = GCRA(limit: limits.tokensPerMinute)
        let requestCheck = requests?.check(tat: self.requestTAT, cost: 1, now: now)
        let tokenCheck = tokenLimit?.check(tat: self.tokenTAT, cost: max(0, tokens), now: now)
        let allowed = (requestCheck?.fits ?? true) && (tokenCheck?.fits ?? true)

        if allowed {
            if let requestCheck { self.requestTAT = requestCheck.chargedTAT }
            if let tokenCheck { self.tokenTAT = tokenCheck.chargedTAT }
        }
        // Both dimensions only get closer to fitting as time passes, so the later of the two
        // waits is exactly when the whole request fits.
        let retryAfter = max(requestCheck?.retryAfterMicroseconds ?? 0, tokenCheck?.retryAfterMicroseconds ?? 0)

        return RateLimitDecision(
            allowed: allowed,
            limits: limits,
            requestsRemaining: requests?.remaining(tat: self.requestTAT, now: now) ?? 0,
            requestsResetMicroseconds: requests?.resetMicroseconds(tat: self.requestTAT, now: now) ?? 0,
            tokensRemaining: tokenLimit?.remaining(tat: self.tokenTAT, now: now) ?? 0,
            tokensResetMicroseconds: tokenLimit?.resetMicroseconds(tat: self.tokenTAT, now: now) ?? 0,
            retryAfterMicroseconds: retryAfter
        )
    }

    /// Charges (positive) or refunds (negative) `deltaTokens` once the real usage is known.
    public mutating func correct(limits: RateLimits, deltaTokens: Int, now: Int64) {
        guard let tokenLimit = GCRA(limit: limits.tokensPerMinute), deltaTokens != 0 else { return }
        self.tokenTAT = tokenLimit.corrected(tat: self.tokenTAT, delta: deltaTokens, now: now)
    }

    /// Takes back what a lease left unused — `returnedRequests` whole requests, each its own increment, and a signed
    /// token delta (corrections less unused tokens) — never before `now`: the acquire script's first step.
    public mutating func giveBack(limits: RateLimits, returnedRequests: Int, tokenDelta: Int, now: Int64) {
        if let requests = GCRA(limit: limits.requestsPerMinute), returnedRequests > 0 {
            let current = max(self.requestTAT ?? now, now)
            self.requestTAT = max(current - requests.increment(cost: 1) * Int64(returnedRequests), now)
        }
        self.correct(limits: limits, deltaTokens: tokenDelta, now: now)
    }

    /// Grants and charges a lease of up to `wantRequests` requests and `wantTokens` tokens, at most
    /// `1/RateLimitLease.shareDivisor` of the room left in each dimension: the acquire script's last step. The grant
    /// carries the TATs after it (µs from `now`; 0 for an unlimited dimension) and is empty when nothing fits.
    public mutating func lease(limits: RateLimits, wantRequests: Int, wantTokens: Int, now: Int64)
        -> RateLimitLease.Grant
    {
        let requests = GCRA(limit: limits.requestsPerMinute)
        let tokenLimit = GCRA(limit: limits.tokensPerMinute)
        let requestIncrement = requests?.increment(cost: 1) ?? 0
        var granted = max(0, wantRequests)
        var grantedTokens = 0
        if granted > 0, requests != nil, requestIncrement > 0 {
            let current = max(self.requestTAT ?? now, now)
            let room = max(GCRA.periodMicroseconds, requestIncrement) - (current - now)
            let share = room > 0 ? Int(room / requestIncrement) / RateLimitLease.shareDivisor : 0
            granted = min(granted, share)
        }
        if let tokenLimit, wantTokens > 0, granted > 0 {
            let room = GCRA.periodMicroseconds - (max(self.tokenTAT ?? now, now) - now)
            if room > 0 {
                let roomTokens = GCRA.multiplyDivide(room, Int64(tokenLimit.limit), GCRA.periodMicroseconds)
                grantedTokens = min(Int(roomTokens) / RateLimitLease.shareDivisor, wantTokens)
            }
            if grantedTokens < 1 { (granted, grantedTokens) = (0, 0) }
        }
        if granted > 0 {
            if requests != nil {
                self.requestTAT = max(self.requestTAT ?? now, now) + requestIncrement * Int64(granted)
            }
            if let tokenLimit, grantedTokens > 0 {
                self.tokenTAT = max(self.tokenTAT ?? now, now) + tokenLimit.increment(cost: grantedTokens)
            }
        }
        return RateLimitLease.Grant(
            requests: granted, tokens: grantedTokens,
            requestTAT: requests == nil ? 0 : max(self.requestTAT ?? now, now) - now,
            tokenTAT: tokenLimit == nil ? 0 : max(self.tokenTAT ?? now, now) - now)
    }

    /// Whether the bucket is full in both dimensions, so forgetting it changes nothing.
    public func isIdle(now: Int64) -> Bool {
        (self.requestTAT ?? now) <= now && (self.tokenTAT ?? now) <= now
    }
}
