import Shared

/// Embedded mode (no Redis): the node's one rate limiter, in the master, so a key gets its limit once per node
/// rather than once per worker. Workers ask over their control channel.
struct EmbeddedRateLimits: ControlRequestHandler {
    let limiter: LocalRateLimiter

    func handle(_ message: ControlMessage, reply: @escaping @Sendable (ControlMessage) -> Void) {
        switch message {
        case .rateLimitAcquire(let id, let bucket, let rpm, let tpm, let tokens, let lease):
            let limits = RateLimits(requestsPerMinute: rpm, tokensPerMinute: tpm)
            let answer = limiter.acquire(bucket: bucket, limits: limits, tokens: tokens, terms: lease)
            reply(.rateLimitDecision(id: id, decision: answer.decision,
                                     grant: lease.wantRequests > 0 ? answer.grant : nil))
        case .rateLimitCorrect(let bucket, let rpm, let tpm, let delta, let returned):
            limiter.giveBack(bucket: bucket, limits: RateLimits(requestsPerMinute: rpm, tokensPerMinute: tpm),
                             returnedRequests: returned, tokenDelta: delta)
        default:
            break
        }
    }
}
