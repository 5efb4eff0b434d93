import Shared
import XCTest

/// The rate-limit math on an injected clock (microseconds).
final class GCRATests: XCTestCase {
    private let t0: Int64 = 1_700_000_000_000_000
    private let second: Int64 = 1_000_000

    func testBurstOfTheFullLimitThenDeny() {
        var bucket = RateLimitBucket()
        let limits = RateLimits(requestsPerMinute: 10, tokensPerMinute: 0)
        for expectedRemaining in (0..<10).reversed() {
            let decision = bucket.acquire(limits: limits, tokens: 0, now: self.t0)
            XCTAssertTrue(decision.allowed)
            XCTAssertEqual(decision.requestsRemaining, expectedRemaining)
            XCTAssertNil(decision.retryAfterSeconds)
        }
        let denied = bucket.acquire(limits: limits, tokens: 0, now: self.t0)
        XCTAssertFalse(denied.allowed)
        XCTAssertEqual(denied.requestsRemaining, 0)
        XCTAssertEqual(denied.requestsLimit, 10)
        // One request refills every 6 s; the bucket is full again after the whole minute.
        XCTAssertEqual(denied.retryAfterSeconds, 6)
        XCTAssertEqual(denied.requestsResetSeconds, 60)
    }

    func testRetryAfterIsExact() {
        var bucket = RateLimitBucket()
        let limits = RateLimits(requestsPerMinute: 10, tokensPerMinute: 0)
        for _ in 0..<10 { _ = bucket.acquire(limits: limits, tokens: 0, now: self.t0) }
        let retry = Int64((bucket.acquire(limits: limits, tokens: 0, now: self.t0).retryAfterSeconds ?? 0) * 1e6)
        XCTAssertEqual(retry, 6 * self.second)

        let early = bucket.acquire(limits: limits, tokens: 0, now: self.t0 + retry - 1)
        XCTAssertFalse(early.allowed)
        XCTAssertEqual(early.retryAfterSeconds, 0.000001)
        XCTAssertTrue(bucket.acquire(limits: limits, tokens: 0, now: self.t0 + retry).allowed)
        XCTAssertFalse(bucket.acquire(limits: limits, tokens: 0, now: self.t0 + retry).allowed)
    }

    func testRefillOverTime() {
        var bucket = RateLimitBucket()
        let limits = RateLimits(requestsPerMinute: 10, tokensPerMinute: 1_000)
        for _ in 0..<10 { XCTAssertTrue(bucket.acquire(limits: limits, tokens: 100, now: self.t0).allowed) }

        let half = bucket.acquire(limits: limits, tokens: 0, now: self.t0 + 30 * self.second)
        XCTAssertTrue(half.allowed)
        XCTAssertEqual(half.requestsRemaining, 4)  // 5 refilled, 1 spent now
        XCTAssertEqual(half.tokensRemaining, 500)
        XCTAssertEqual(half.tokensResetSeconds, 30)

        let full = bucket.acquire(limits: limits, tokens: 0, now: self.t0 + 120 * self.second)
        XCTAssertEqual(full.requestsRemaining, 9)
        XCTAssertEqual(full.tokensRemaining, 1_000)
        XCTAssertEqual(full.tokensResetSeconds, 0)
    }

    func testDeniedRequestChargesNothing() {
        var bucket = RateLimitBucket()
        let limits = RateLimits(requestsPerMinute: 10, tokensPerMinute: 1_000)
        XCTAssertTrue(bucket.acquire(limits: limits, tokens: 900, now: self.t0).allowed)
        let before = bucket

        let denied = bucket.acquire(limits: limits, tokens: 200, now: self.t0)
        XCTAssertFalse(denied.allowed)
        XCTAssertEqual(bucket, before)
        XCTAssertEqual(denied.requestsRemaining, 9)
        XCTAssertEqual(denied.tokensRemaining, 100)
        // 100 tokens short at 60 ms per token.
        XCTAssertEqual(denied.retryAfterSeconds, 6)
    }

    func testRetryAfterIsTheLaterOfBothDimensions() {
        var bucket = RateLimitBucket()
        let limits = RateLimits(requestsPerMinute: 2, tokensPerMinute: 600)
        XCTAssertTrue(bucket.acquire(limits: limits, tokens: 550, now: self.t0).allowed)
        XCTAssertTrue(bucket.acquire(limits: limits, tokens: 10, now: self.t0).allowed)
        // Requests: next one in 30 s. Tokens: 40 left, 100 more needed in 60 × 100 ms = 6 s.
        let denied = bucket.acquire(limits: limits, tokens: 100, now: self.t0)
        XCTAssertEqual(denied.retryAfterSeconds, 30)
        XCTAssertTrue(bucket.acquire(limits: limits, tokens: 100, now: self.t0 + 30 * self.second).allowed)
    }

    func testTokenCorrectionUpAndDown() {
        var bucket = RateLimitBucket()
        let limits = RateLimits(requestsPerMinute: 0, tokensPerMinute: 1_000)
        XCTAssertTrue(bucket.acquire(limits: limits, tokens: 400, now: self.t0).allowed)

        bucket.correct(limits: limits, deltaTokens: 300, now: self.t0)
        XCTAssertEqual(bucket.acquire(limits: limits, tokens: 0, now: self.t0).tokensRemaining, 300)

        bucket.correct(limits: limits, deltaTokens: -200, now: self.t0)
        XCTAssertEqual(bucket.acquire(limits: limits, tokens: 0, now: self.t0).tokensRemaining, 500)

        // A refund larger than the charge stops at a full bucket (TAT never before now).
        bucket.correct(limits: limits, deltaTokens: -10_000, now: self.t0)
        XCTAssertEqual(bucket.tokenTAT, self.t0)
        XCTAssertEqual(bucket.acquire(limits: limits, tokens: 0, now: self.t0).tokensRemaining, 1_000)

        // Usage beyond the budget puts the bucket in debt: even a zero-token request waits.
        bucket.correct(limits: limits, deltaTokens: 1_500, now: self.t0)
        let indebted = bucket.acquire(limits: limits, tokens: 0, now: self.t0)
        XCTAssertFalse(indebted.allowed)
        XCTAssertEqual(indebted.retryAfterSeconds, 30)
        XCTAssertEqual(indebted.tokensRemaining, 0)
    }

    func testUnlimitedDimensionNeverDeniesAndReportsZeros() {
        var bucket = RateLimitBucket()
        let limits = RateLimits(requestsPerMinute: 0, tokensPerMinute: 100)
        for _ in 0..<1_000 {
            XCTAssertTrue(bucket.acquire(limits: limits, tokens: 0, now: self.t0).allowed)
        }
        let decision = bucket.acquire(limits: limits, tokens: 100, now: self.t0)
        XCTAssertTrue(decision.allowed)
        XCTAssertEqual(decision.requestsLimit, 0)
        XCTAssertEqual(decision.requestsRemaining, 0)
        XCTAssertEqual(decision.requestsResetSeconds, 0)
        XCTAssertEqual(decision.tokensRemaining, 0)
        XCTAssertNil(bucket.requestTAT)

        var free = RateLimitBucket()
        XCTAssertEqual(
            free.acquire(limits: RateLimits(requestsPerMinute: 0, tokensPerMinute: 0), tokens: 1_000_000, now: self.t0),
            .unlimited
        )
    }

    func testOversizedEstimateIsAdmittedOnlyWhenFull() {
        var bucket = RateLimitBucket()
        let limits = RateLimits(requestsPerMinute: 0, tokensPerMinute: 1_000)

        XCTAssertTrue(bucket.acquire(limits: limits, tokens: 10, now: self.t0).allowed)
        // Not full: wait until it is (10 tokens × 60 ms).
        let notFull = bucket.acquire(limits: limits, tokens: 5_000, now: self.t0)
        XCTAssertFalse(notFull.allowed)
        XCTAssertEqual(notFull.retryAfterSeconds, 0.6)

        let admitted = bucket.acquire(limits: limits, tokens: 5_000, now: self.t0 + 600_000)
        XCTAssertTrue(admitted.allowed)
        XCTAssertEqual(admitted.tokensRemaining, 0)
        XCTAssertEqual(admitted.tokensResetSeconds, 300)

        // The excess is debt: the next token fits once the TAT is back within one minute.
        let next = bucket.acquire(limits: limits, tokens: 1, now: self.t0 + 600_000)
        XCTAssertFalse(next.allowed)
        XCTAssertEqual(next.retryAfterSeconds ?? 0, 240.06, accuracy: 1e-9)
    }

    func testNonIntegralIntervalStillAdmitsTheWholeBurst() {
        for limit in [7, 13, 999, 7_000] {
            var bucket = RateLimitBucket()
            let limits = RateLimits(requestsPerMinute: 0, tokensPerMinute: limit)
            var admitted = 0
            while bucket.acquire(limits: limits, tokens: 1, now: self.t0).allowed, admitted <= limit {
                admitted += 1
            }
            XCTAssertEqual(admitted, limit, "limit \(limit)")
        }
    }

    func testLargeTokenLimitWithRealisticCostsIsExact() {
        // 1,000,003 tokens a minute is 59.99982 µs per token; charges of 1,000 tokens round down by
        // under 1 µs each, so exactly 1,000 such requests fit in the burst.
        var bucket = RateLimitBucket()
        let limits = RateLimits(requestsPerMinute: 0, tokensPerMinute: 1_000_003)
        var admitted = 0
        while bucket.acquire(limits: limits, tokens: 1_000, now: self.t0).allowed, admitted <= 1_001 {
            admitted += 1
        }
        XCTAssertEqual(admitted, 1_000)
    }

    func testExtremeValuesDoNotTrap() {
        var bucket = RateLimitBucket()
        let tiny = RateLimits(requestsPerMinute: 1, tokensPerMinute: 1)
        XCTAssertTrue(bucket.acquire(limits: tiny, tokens: Int.max, now: self.t0).allowed)  // admit-when-full
        XCTAssertFalse(bucket.acquire(limits: tiny, tokens: 1, now: self.t0 + 3_600 * self.second).allowed)
        bucket.correct(limits: tiny, deltaTokens: Int.min, now: self.t0)
        XCTAssertEqual(bucket.tokenTAT, self.t0)

        var huge = RateLimitBucket()
        let decision = huge.acquire(
            limits: RateLimits(requestsPerMinute: 100_000_000, tokensPerMinute: 1_000_000_000_000),
            tokens: 10_000,
            now: self.t0
        )
        XCTAssertTrue(decision.allowed)
        // 10,000 tokens at 10^12 a minute is 0.6 µs, which rounds to nothing (see `GCRA`).
        XCTAssertEqual(decision.tokensRemaining, 1_000_000_000_000)
        XCTAssertEqual(decision.requestsRemaining, 100_000_000)
    }

    func testGCRAHasNoStateForUnlimited() {
        XCTAssertNil(GCRA(limit: 0))
        XCTAssertNil(GCRA(limit: -5))
        XCTAssertEqual(GCRA(limit: 60)?.increment(cost: 1), 1_000_000)
        XCTAssertEqual(GCRA(limit: 60)?.increment(cost: 0), 0)
    }
}
