import Shared

/// Embedded mode (no Redis): the node's one rate limiter, in the master, so a key gets its limit once per node
/// rather than once per worker. Workers ask over their control channel.
struct EmbeddedRateLimits: ControlRequestHandler {
    let limiter: LocalRateLimiter

    func handle(_ message: ControlMessage, reply: @escaping @Sendable (ControlMessage) -> Void) {
        switch message {
        case .rateLimitAcquire(let id, let bucket, let rpm, let tpm, let tokens):
            let limits = RateLimits(requestsPerMinute: rpm, tokensPerMinute: tpm)
            limiter.acquire(bucket: bucket, limits: limits, tokens: tokens) { result in
                // The local limiter cannot fail; a failure would mean a bug, and failing open is the documented default.
                let decision = (try? result.get()) ?? .unlimited
                reply(.rateLimitDecision(id: id, decision: decision))
            }
        case .rateLimitCorrect(let bucket, let rpm, let tpm, let delta):
            limiter.correct(bucket: bucket, limits: RateLimits(requestsPerMinute: rpm, tokensPerMinute: tpm),
                            deltaTokens: delta)
        default:
            break
        }
    }
}
