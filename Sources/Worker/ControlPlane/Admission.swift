import Shared

/// What the control plane is asked before a request goes upstream.
struct Admission: Sendable {
    var bucket: String
    var limits: RateLimits
    /// The tokens to reserve (the input estimate; corrected once the real usage is known).
    var tokens: Int
    /// nil: the cache is not consulted (disabled, or the request is not cacheable).
    var cacheKey: String?
}

/// The control plane's answers for one `Admission`, delivered together.
struct AdmissionAnswer: Sendable {
    /// nil when no rate limiter is configured.
    var decision: Result<RateLimitDecision, RateLimitError>?
    /// nil when the cache was not consulted.
    var cached: Result<[UInt8]?, CacheError>?

}
