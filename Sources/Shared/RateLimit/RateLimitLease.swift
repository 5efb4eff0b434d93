/// A share of one bucket's allowance that a worker loop took from the bucket's keeper (Redis's acquire script, or the
/// master without Redis) ahead of need, so that the requests it covers are admitted on the loop without a round trip.
///
/// The keeper charged the whole lease when it granted it, exactly as it charges requests, so the fleet (or node) never
/// admits more than the limit. What the lease has not used when it ends (its lifetime is short) is given back with
/// the bucket's next call to the keeper, or on its own. The keeper grants at most `1/shareDivisor` of the room left in
/// each dimension, so a bucket near its limit is not leased and its requests are decided one by one.
///
/// The headers of a request admitted from a lease show the holder's view: the bucket as the keeper left it at the grant,
/// less the part of the lease not yet used, refilled by the time since, plus the request's own charge. With one
/// holder and a bucket that does not fill up again during the lease, that is exactly what charging each request as
/// it comes would show; with several holders, it does not see what the others admitted since the grant.
public struct RateLimitLease: Sendable, Equatable {
    /// The largest share of a dimension's room a lease may take.
    public static let shareDivisor = 8

    /// How long a lease admits requests after its grant, in microseconds; it also bounds how stale the headers of
    /// its requests can be and how long its unused part is held from other workers.
    public static let lifetimeMicroseconds: Int64 = 100_000

    /// What a call to the bucket's keeper (the acquire script, or the master without Redis) gives back and asks for.
    public struct Terms: Sendable, Equatable {
        public var wantRequests = 0
        public var wantTokens = 0
        /// Requests of a lease given back unused.
        public var returnedRequests = 0
        /// Token corrections gathered, less a lease's unused tokens.
        public var tokenDelta = 0

        public init(wantRequests: Int = 0, wantTokens: Int = 0, returnedRequests: Int = 0, tokenDelta: Int = 0) {
            self.wantRequests = wantRequests
            self.wantTokens = wantTokens
            self.returnedRequests = returnedRequests
            self.tokenDelta = tokenDelta
        }

        /// Whether it gives anything back.
        public var givesBack: Bool { returnedRequests > 0 || tokenDelta != 0 }
    }

    /// A lease as the keeper granted it: its sizes (0 requests: none), and the bucket's TATs after it in
    /// microseconds from the grant.
    public struct Grant: Sendable, Equatable {
        public var requests: Int
        public var tokens: Int
        public var requestTAT: Int64
        public var tokenTAT: Int64

        public init(requests: Int, tokens: Int, requestTAT: Int64, tokenTAT: Int64) {
            self.requests = requests
            self.tokens = tokens
            self.requestTAT = requestTAT
            self.tokenTAT = tokenTAT
        }
    }

    /// The limits it was granted under; a request with other limits (after a reload) is not admitted from it.
    public let limits: RateLimits
    /// Requests it may still admit.
    public private(set) var requestsLeft: Int
    /// Tokens it may still admit (only counted when tokens are limited).
    public private(set) var tokensLeft: Int
    /// The bucket's request TAT right after the grant, in microseconds from `grantedAt`.
    let requestTATAfterGrant: Int64
    /// The bucket's token TAT right after the grant, in microseconds from `grantedAt`.
    let tokenTATAfterGrant: Int64
    /// When it was granted, on the holder's monotonic clock (microseconds).
    let grantedAt: Int64

    /// A lease of `requests` and `tokens`, the TATs the keeper reported after charging it (µs from `grantedAt`).
    public init(limits: RateLimits, requests: Int, tokens: Int, requestTATAfterGrant: Int64, tokenTATAfterGrant: Int64,
                grantedAt: Int64)
    {
        self.limits = limits
        self.requestsLeft = max(0, requests)
        self.tokensLeft = max(0, tokens)
        self.requestTATAfterGrant = requestTATAfterGrant
        self.tokenTATAfterGrant = tokenTATAfterGrant
        self.grantedAt = grantedAt
    }

    /// Whether its lifetime is over at `now`.
    public func hasExpired(at now: Int64) -> Bool { now - grantedAt >= Self.lifetimeMicroseconds }

    /// Admits one request of `tokens` from what is left, with the holder's view of the bucket as its decision; nil
    /// (nothing taken) when the lease has expired, was granted under other limits, or has too little left.
    public mutating func admit(limits: RateLimits, tokens: Int, now: Int64) -> RateLimitDecision? {
        let cost = max(0, tokens)
        let tokensCounted = limits.tokensPerMinute > 0
        guard limits == self.limits, !hasExpired(at: now), requestsLeft > 0, !tokensCounted || tokensLeft >= cost
        else { return nil }
        requestsLeft -= 1
        if tokensCounted { tokensLeft -= cost }
        return decision(cost: cost, now: now)
    }

    /// The bucket as the holder sees it at `now`, just after admitting a request of `cost` tokens: the keeper's TATs at
    /// the grant less the part of the lease not used before this request, moved on by the time since (never past a
    /// full bucket), plus this request's charge.
    func decision(cost: Int, now: Int64) -> RateLimitDecision {
        let elapsed = now - grantedAt
        var requestsRemaining = 0
        var requestsReset: Int64 = 0
        if let gcra = GCRA(limit: limits.requestsPerMinute) {
            let before = requestTATAfterGrant - gcra.increment(cost: 1) * Int64(requestsLeft + 1) - elapsed
            let tat = max(before, 0) + gcra.increment(cost: 1)
            requestsRemaining = gcra.remaining(tat: tat, now: 0)
            requestsReset = gcra.resetMicroseconds(tat: tat, now: 0)
        }
        var tokensRemaining = 0
        var tokensReset: Int64 = 0
        if let gcra = GCRA(limit: limits.tokensPerMinute) {
            let before = tokenTATAfterGrant - gcra.increment(cost: tokensLeft + cost) - elapsed
            let tat = max(before, 0) + gcra.increment(cost: cost)
            tokensRemaining = gcra.remaining(tat: tat, now: 0)
            tokensReset = gcra.resetMicroseconds(tat: tat, now: 0)
        }
        return RateLimitDecision(
            allowed: true, limits: limits, requestsRemaining: requestsRemaining,
            requestsResetMicroseconds: requestsReset, tokensRemaining: tokensRemaining,
            tokensResetMicroseconds: tokensReset, retryAfterMicroseconds: 0)
    }
}
