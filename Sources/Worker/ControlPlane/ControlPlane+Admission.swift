import NIOConcurrencyHelpers
import Shared

extension ControlPlane {
    /// Asks the rate limiter and the cache at once and answers once with both.
    ///
    /// The cache is read even for a request the limiter will refuse (its answer is then ignored): asking both
    /// together costs one round trip instead of two. With Redis behind both, the two commands travel as one
    /// pipeline on the request's loop's connection, one write and one read. Otherwise they run side by side and
    /// the later answer delivers both.
    func admit(_ admission: Admission, completion: @escaping @Sendable (AdmissionAnswer) -> Void) {
        let cache = admission.cacheKey == nil ? nil : self.cache
        if let redis, let limiter = rateLimiter as? RedisRateLimiter, cache is RedisCacheStore,
            let cacheKey = admission.cacheKey,
            let acquire = limiter.acquireEvalSHA(bucket: admission.bucket, limits: admission.limits,
                                                 tokens: admission.tokens)
        {
            var batch = RedisCommandBatch()
            batch.append(acquire)
            batch.append(RedisCacheStore.getCommand(key: cacheKey))
            Self.admitInOneRoundTrip(admission, redis: redis, limiter: limiter, batch: batch, completion: completion)
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

    private static func admitInOneRoundTrip(
        _ admission: Admission, redis: RedisClient, limiter: RedisRateLimiter, batch: RedisCommandBatch,
        completion: @escaping @Sendable (AdmissionAnswer) -> Void
    ) {
        let limits = admission.limits
        redis.pipeline(batch) { result in
            guard case .success(let replies) = result, replies.count == 2 else {
                let failure = result.flatMap { _ in
                    Result<RedisReply, RedisError>.failure(.unexpectedReply("pipeline"))
                }
                completion(AdmissionAnswer(decision: RedisRateLimiter.decision(from: failure, limits: limits),
                                           cached: RedisCacheStore.value(from: failure)))
                return
            }
            let cached = RedisCacheStore.value(from: .success(replies[1]))
            guard !replies[0].isNoScript else {
                // Redis lost the script (restart, failover, SCRIPT FLUSH): the limiter's own path reloads it.
                limiter.acquire(bucket: admission.bucket, limits: limits, tokens: admission.tokens) { decision in
                    completion(AdmissionAnswer(decision: decision, cached: cached))
                }
                return
            }
            completion(AdmissionAnswer(decision: RedisRateLimiter.decision(from: .success(replies[0]), limits: limits),
                                       cached: cached))
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
