import NIOConcurrencyHelpers
import Shared

extension ControlPlane {
    /// Asks the rate limiter and the cache at once and answers once with both.
    ///
    /// The cache is read even for a request the limiter will refuse (its answer is then ignored): asking both
    /// together costs one round trip instead of two. With Redis behind both, the two commands leave on the request's
    /// loop's connection in the same write, after the loop's round (where the limiter merges the round's acquires of
    /// one bucket into one script call), and their replies come back in the same read.
    func admit(_ admission: Admission, completion: @escaping @Sendable (AdmissionAnswer) -> Void) {
        let cache = admission.cacheKey == nil ? nil : self.cache
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
