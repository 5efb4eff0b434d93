import NIOConcurrencyHelpers
import Shared

extension ControlPlane {
    /// Asks the rate limiter and the cache at once and answers once with both.
    ///
    /// The cache is read even for a request the limiter will refuse (its answer is then ignored): asking both
    /// together costs one round trip instead of two. With Redis behind both, the cache `GET` travels with the
    /// limiter's script call: the limiter sends the admissions of one round of the request's loop as one pipeline
    /// (one script call per bucket, then the lookups) on that loop's connection. Otherwise they run side by side
    /// and the later answer delivers both.
    func admit(_ admission: Admission, completion: @escaping @Sendable (AdmissionAnswer) -> Void) {
        let cache = admission.cacheKey == nil ? nil : self.cache
        if let limiter = rateLimiter as? RedisRateLimiter, cache is RedisCacheStore, let cacheKey = admission.cacheKey {
            limiter.acquire(bucket: admission.bucket, limits: admission.limits, tokens: admission.tokens,
                            along: RedisCacheStore.getCommand(key: cacheKey)) { decision, lookup in
                completion(AdmissionAnswer(decision: decision, cached: lookup.map(RedisCacheStore.value(from:))))
            }
            return
        }
        if let rateLimiter, cache == nil {
            rateLimiter.acquire(bucket: admission.bucket, limits: admission.limits, tokens: admission.tokens) {
                completion(AdmissionAnswer(decision: $0))
            }
            return
        }
        let join = AdmissionJoin(expecting: (rateLimiter == nil ? 0 : 1) + (cache == nil ? 0 : 1), completion)
        if let rateLimiter {
            rateLimiter.acquire(bucket: admission.bucket, limits: admission.limits, tokens: admission.tokens) {
                join.deliver(decision: $0)
            }
        }
        if let cache, let cacheKey = admission.cacheKey {
            cache.get(key: cacheKey) { join.deliver(cached: $0) }
        }
    }
}

/// Collects the answers of an admission asked of two independent parts and delivers them once both are in.
private final class AdmissionJoin: Sendable {
    private struct State {
        var remaining: Int
        var answer = AdmissionAnswer()
    }

    private let state: NIOLockedValueBox<State>
    private let completion: @Sendable (AdmissionAnswer) -> Void

    init(expecting count: Int, _ completion: @escaping @Sendable (AdmissionAnswer) -> Void) {
        self.state = NIOLockedValueBox(State(remaining: count))
        self.completion = completion
        if count == 0 { completion(AdmissionAnswer()) }
    }

    func deliver(decision: Result<RateLimitDecision, RateLimitError>) {
        record { $0.decision = decision }
    }

    func deliver(cached: Result<[UInt8]?, CacheError>) {
        record { $0.cached = cached }
    }

    private func record(_ update: (inout AdmissionAnswer) -> Void) {
        let complete = state.withLockedValue { state -> AdmissionAnswer? in
            update(&state.answer)
            state.remaining -= 1
            return state.remaining == 0 ? state.answer : nil
        }
        if let complete { completion(complete) }
    }
}
