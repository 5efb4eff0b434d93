/// The outcome of one `acquire`, with what the `anthropic-ratelimit-*` headers need.
///
/// An unlimited dimension reports limit 0, remaining 0 and reset 0, and never denies.
public struct RateLimitDecision: Sendable, Equatable {
    /// Whether the request was admitted (and charged in both dimensions).
    public var allowed: Bool
    /// Requests per minute.
    public var requestsLimit: Int
    /// Requests that could still be admitted right now.
    public var requestsRemaining: Int
    /// Seconds until the request bucket is full again.
    public var requestsResetSeconds: Double
    /// Tokens per minute.
    public var tokensLimit: Int
    /// Tokens that could still be admitted right now.
    public var tokensRemaining: Int
    /// Seconds until the token bucket is full again.
    public var tokensResetSeconds: Double
    /// When denied: seconds until this same request would be admitted.
    public var retryAfterSeconds: Double?

    /// Creates a decision from its fields.
    public init(
        allowed: Bool,
        requestsLimit: Int,
        requestsRemaining: Int,
        requestsResetSeconds: Double,
        tokensLimit: Int,
        tokensRemaining: Int,
        tokensResetSeconds: Double,
        retryAfterSeconds: Double?
    ) {
        self.allowed = allowed
        self.requestsLimit = requestsLimit
        self.requestsRemaining = requestsRemaining
        self.requestsResetSeconds = requestsResetSeconds
        self.tokensLimit = tokensLimit
        self.tokensRemaining = tokensRemaining
        self.tokensResetSeconds = tokensResetSeconds
        self.retryAfterSeconds = retryAfterSeconds
    }

    /// Creates a decision from the microsecond values that `RateLimitBucket` and the Lua script compute.
    init(
        allowed: Bool,
        limits: RateLimits,
        requestsRemaining: Int,
        requestsResetMicroseconds: Int64,
        tokensRemaining: Int,
        tokensResetMicroseconds: Int64,
        retryAfterMicroseconds: Int64
    ) {
        self.init(
            allowed: allowed,
            requestsLimit: limits.requestsPerMinute,
            requestsRemaining: requestsRemaining,
            requestsResetSeconds: Double(requestsResetMicroseconds) / 1_000_000,
            tokensLimit: limits.tokensPerMinute,
            tokensRemaining: tokensRemaining,
            tokensResetSeconds: Double(tokensResetMicroseconds) / 1_000_000,
            retryAfterSeconds: allowed ? nil : Double(retryAfterMicroseconds) / 1_000_000
        )
    }

    /// The decision for limits that are unlimited in both dimensions.
    public static let unlimited = RateLimitDecision(
        allowed: true,
        requestsLimit: 0,
        requestsRemaining: 0,
        requestsResetSeconds: 0,
        tokensLimit: 0,
        tokensRemaining: 0,
        tokensResetSeconds: 0,
        retryAfterSeconds: nil
    )
}
