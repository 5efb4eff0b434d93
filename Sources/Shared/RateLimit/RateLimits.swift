/// Per-bucket limits; 0 means unlimited for that dimension.
public struct RateLimits: Sendable, Hashable {
    /// Requests admitted per minute (and the burst a fresh bucket can spend at once).
    public var requestsPerMinute: Int
    /// Tokens admitted per minute (and the burst a fresh bucket can spend at once).
    public var tokensPerMinute: Int

    /// Creates limits; negative values are treated as 0 (unlimited).
    public init(requestsPerMinute: Int, tokensPerMinute: Int) {
        self.requestsPerMinute = max(0, requestsPerMinute)
        self.tokensPerMinute = max(0, tokensPerMinute)
    }

    /// Whether neither dimension is limited, so no state needs to be consulted.
    public var isUnlimited: Bool { self.requestsPerMinute == 0 && self.tokensPerMinute == 0 }
}
