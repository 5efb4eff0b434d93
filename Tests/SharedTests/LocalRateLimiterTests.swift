import Foundation
import Shared
import XCTest

final class LocalRateLimiterTests: XCTestCase {
    private let t0: Int64 = 5_000_000_000

    func testBucketsAreIndependent() {
        let limiter = LocalRateLimiter()
        let limits = RateLimits(requestsPerMinute: 1, tokensPerMinute: 0)
        XCTAssertTrue(limiter.acquire(bucket: "a", limits: limits, tokens: 0, now: self.t0).allowed)
        XCTAssertFalse(limiter.acquire(bucket: "a", limits: limits, tokens: 0, now: self.t0).allowed)
        XCTAssertTrue(limiter.acquire(bucket: "b", limits: limits, tokens: 0, now: self.t0).allowed)
    }

    func testProtocolPathUsesTheInjectedClock() {
        let clock = LockedBox(self.t0)
        let limiter = LocalRateLimiter(clock: { clock.value })
        let limits = RateLimits(requestsPerMinute: 2, tokensPerMinute: 100)
        let acquire = { (tokens: Int) -> RateLimitDecision? in
            try? WaitForCallback.result {
                limiter.acquire(bucket: "k", limits: limits, tokens: tokens, completion: $0)
            }?.get()
        }
        XCTAssertEqual(acquire(60)?.allowed, true)
        limiter.correct(bucket: "k", limits: limits, deltaTokens: -50)
        XCTAssertEqual(acquire(0)?.tokensRemaining, 90)
        XCTAssertEqual(acquire(0)?.allowed, false)  // third request within the minute
        clock.value += 30_000_000
        XCTAssertEqual(acquire(0)?.allowed, true)
    }

    func testIdleBucketsArePruned() {
        let limiter = LocalRateLimiter()
        let limits = RateLimits(requestsPerMinute: 60, tokensPerMinute: 6_000)
        for index in 0..<100 {
            _ = limiter.acquire(bucket: "b\(index)", limits: limits, tokens: 10, now: self.t0)
        }
        XCTAssertEqual(limiter.bucketCount, 100)
        limiter.prune(now: self.t0 + 500_000)  // not refilled yet: nothing may go
        XCTAssertEqual(limiter.bucketCount, 100)
        limiter.prune(now: self.t0 + 1_000_000)  // 1 request and 10 tokens refill in exactly 1 s
        XCTAssertEqual(limiter.bucketCount, 0)
    }

    func testMemoryStaysBoundedWithoutExplicitPruning() {
        let limiter = LocalRateLimiter()
        let limits = RateLimits(requestsPerMinute: 60, tokensPerMinute: 0)
        // Each wave of 5,000 new buckets is idle a second later; the periodic sweep drops it.
        for wave in 0..<6 {
            let now = self.t0 + Int64(wave) * 2_000_000
            for index in 0..<5_000 {
                _ = limiter.acquire(bucket: "w\(wave)-\(index)", limits: limits, tokens: 0, now: now)
            }
        }
        XCTAssertLessThanOrEqual(limiter.bucketCount, 10_000)
        XCTAssertGreaterThanOrEqual(limiter.bucketCount, 5_000)
    }

    func testConcurrentAcquiresAdmitExactlyTheLimit() {
        let limiter = LocalRateLimiter()
        let limits = RateLimits(requestsPerMinute: 50, tokensPerMinute: 0)
        let admitted = LockedBox(0)
        let now = self.t0
        DispatchQueue.concurrentPerform(iterations: 8) { _ in
            for _ in 0..<100 where limiter.acquire(bucket: "hot", limits: limits, tokens: 0, now: now).allowed {
                admitted.mutate { $0 += 1 }
            }
        }
        XCTAssertEqual(admitted.value, 50)
    }
}
