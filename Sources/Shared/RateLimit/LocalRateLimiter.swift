import NIOConcurrencyHelpers

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An in-memory `RateLimiting` for one process: the master of a node without Redis runs it for all
/// its workers.
///
/// Buckets that are full again in both dimensions carry no information, so they are swept out
/// periodically; memory is bounded by the buckets active within the last minute or so.
public final class LocalRateLimiter: RateLimiting {
    private struct State {
        var buckets: [String: RateLimitBucket] = [:]
        var operationsSinceSweep = 0
        var operationsBeforeNextSweep = LocalRateLimiter.minimumOperationsBetweenSweeps
    }

    /// A sweep runs after at least this many operations, and after as many operations as there were
    /// buckets left by the previous sweep, which keeps its cost amortised O(1) per operation.
    private static let minimumOperationsBetweenSweeps = 1_024

    private let state = NIOLockedValueBox(State())
    private let clock: @Sendable () -> Int64

    /// Creates a limiter reading time from `clock` (microseconds; monotonic by default).
    public init(clock: @escaping @Sendable () -> Int64 = LocalRateLimiter.monotonicMicroseconds) {
        self.clock = clock
    }

    /// Buckets currently held in memory.
    public var bucketCount: Int { self.state.withLockedValue { $0.buckets.count } }

    /// Decides at `now` (microseconds on the limiter's clock).
    public func acquire(bucket: String, limits: RateLimits, tokens: Int, now: Int64) -> RateLimitDecision {
        guard !limits.isUnlimited else { return .unlimited }
        return self.withBucket(bucket, now: now) { $0.acquire(limits: limits, tokens: tokens, now: now) }
    }

    /// Decides at `now` as the acquire script does with `terms`: what a lease gives back first, then the request,
    /// then the lease asked for (`RateLimitLease`). The grant is empty when none was asked for or none fits.
    public func acquire(bucket: String, limits: RateLimits, tokens: Int, terms: RateLimitLease.Terms, now: Int64)
        -> (decision: RateLimitDecision, grant: RateLimitLease.Grant)
    {
        let none = RateLimitLease.Grant(requests: 0, tokens: 0, requestTAT: 0, tokenTAT: 0)
        guard !limits.isUnlimited else { return (.unlimited, none) }
        return self.withBucket(bucket, now: now) { entry in
            entry.giveBack(limits: limits, returnedRequests: terms.returnedRequests, tokenDelta: terms.tokenDelta,
                           now: now)
            let decision = entry.acquire(limits: limits, tokens: tokens, now: now)
            let grant = entry.lease(limits: limits, wantRequests: terms.wantRequests, wantTokens: terms.wantTokens,
                                    now: now)
            return (decision, grant)
        }
    }

    /// Takes back what a lease left unused and the corrections gathered with it, at `now`.
    public func giveBack(bucket: String, limits: RateLimits, returnedRequests: Int, tokenDelta: Int, now: Int64) {
        guard !limits.isUnlimited, returnedRequests > 0 || tokenDelta != 0 else { return }
        self.withBucket(bucket, now: now) {
            $0.giveBack(limits: limits, returnedRequests: returnedRequests, tokenDelta: tokenDelta, now: now)
        }
    }

    /// Adjusts the token charge at `now` (microseconds on the limiter's clock).
    public func correct(bucket: String, limits: RateLimits, deltaTokens: Int, now: Int64) {
        guard limits.tokensPerMinute > 0, deltaTokens != 0 else { return }
        self.withBucket(bucket, now: now) { $0.correct(limits: limits, deltaTokens: deltaTokens, now: now) }
    }

    /// Removes every bucket that is full again; runs by itself every so often.
    public func prune(now: Int64) {
        self.state.withLockedValue { state in Self.sweep(&state, now: now) }
    }

    // MARK: - RateLimiting

    public func acquire(
        bucket: String,
        limits: RateLimits,
        tokens: Int,
        completion: @escaping @Sendable (Result<RateLimitDecision, RateLimitError>) -> Void
    ) {
        completion(.success(self.acquire(bucket: bucket, limits: limits, tokens: tokens, now: self.clock())))
    }

    public func correct(bucket: String, limits: RateLimits, deltaTokens: Int) {
        self.correct(bucket: bucket, limits: limits, deltaTokens: deltaTokens, now: self.clock())
    }

    /// `acquire(bucket:limits:tokens:terms:now:)` on the limiter's clock.
    public func acquire(bucket: String, limits: RateLimits, tokens: Int, terms: RateLimitLease.Terms)
        -> (decision: RateLimitDecision, grant: RateLimitLease.Grant)
    {
        self.acquire(bucket: bucket, limits: limits, tokens: tokens, terms: terms, now: self.clock())
    }

    /// `giveBack(bucket:limits:returnedRequests:tokenDelta:now:)` on the limiter's clock.
    public func giveBack(bucket: String, limits: RateLimits, returnedRequests: Int, tokenDelta: Int) {
        self.giveBack(bucket: bucket, limits: limits, returnedRequests: returnedRequests, tokenDelta: tokenDelta,
                      now: self.clock())
    }

    /// Runs `body` on `bucket`'s state (a full bucket when it has none) under the lock, sweeping first when due.
    private func withBucket<Result>(_ bucket: String, now: Int64, _ body: (inout RateLimitBucket) -> Result) -> Result {
        self.state.withLockedValue { state in
            Self.sweepIfDue(&state, now: now)
            var entry = state.buckets[bucket] ?? RateLimitBucket()
            let result = body(&entry)
            state.buckets[bucket] = entry
            return result
        }
    }

    // MARK: - Clock and sweeping

    /// Microseconds from `CLOCK_MONOTONIC`, which wall-clock adjustments cannot move backwards.
    public static func monotonicMicroseconds() -> Int64 {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return Int64(now.tv_sec) * 1_000_000 + Int64(now.tv_nsec) / 1_000
    }

    private static func sweepIfDue(_ state: inout State, now: Int64) {
        state.operationsSinceSweep += 1
        if state.operationsSinceSweep >= state.operationsBeforeNextSweep {
            Self.sweep(&state, now: now)
        }
    }

    private static func sweep(_ state: inout State, now: Int64) {
        state.buckets = state.buckets.filter { !$0.value.isIdle(now: now) }
        state.operationsSinceSweep = 0
        state.operationsBeforeNextSweep = max(Self.minimumOperationsBetweenSweeps, state.buckets.count)
    }
}
