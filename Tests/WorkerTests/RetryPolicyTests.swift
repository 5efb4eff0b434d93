import XCTest

@testable import Worker

final class RetryPolicyTests: XCTestCase {
    let policy = RetryPolicy(maxRetries: 3, budgetSeconds: 10, baseDelaySeconds: 0.2)

    func testExponentialWithJitterAndACount() {
        XCTAssertEqual(policy.delay(beforeRetry: 1, serverDelay: nil, elapsed: 0, jitter: 0), 0.1)
        XCTAssertEqual(policy.delay(beforeRetry: 1, serverDelay: nil, elapsed: 0, jitter: 0.999)!, 0.2, accuracy: 0.001)
        XCTAssertEqual(policy.delay(beforeRetry: 3, serverDelay: nil, elapsed: 0, jitter: 0), 0.4)
        XCTAssertNil(policy.delay(beforeRetry: 4, serverDelay: nil, elapsed: 0, jitter: 0))
    }

    func testServerDelayIsHonouredWithinTheBudget() {
        XCTAssertEqual(policy.delay(beforeRetry: 1, serverDelay: 3, elapsed: 0, jitter: 0), 3)
        XCTAssertNil(policy.delay(beforeRetry: 1, serverDelay: 30, elapsed: 0, jitter: 0), "beyond the budget")
        XCTAssertNil(policy.delay(beforeRetry: 2, serverDelay: 3, elapsed: 8, jitter: 0))
    }

    func testServerDelayFromHeaders() {
        XCTAssertEqual(RetryPolicy.serverDelay(headers: [("retry-after", "2")]), 2)
        XCTAssertEqual(RetryPolicy.serverDelay(headers: [
            ("x-ratelimit-remaining-tokens-minute", "0"), ("x-ratelimit-reset-tokens-minute", "12.5"),
            ("x-ratelimit-remaining-requests-day", "10"), ("x-ratelimit-reset-requests-day", "3000"),
        ]), 12.5, "only an exhausted dimension's reset counts")
        XCTAssertNil(RetryPolicy.serverDelay(headers: [("x-ratelimit-remaining-requests-day", "100")]))
    }

    func testKeyPoolSkipsCoolingKeys() {
        let pool = UpstreamKeyPool(keys: ["a", "b", "c"])
        XCTAssertEqual(pool.next(now: 0), "a")
        pool.coolDown("b", seconds: 10, now: 0)
        XCTAssertEqual(pool.next(now: 1), "c")
        XCTAssertEqual(pool.next(now: 1), "a")
        XCTAssertEqual(pool.next(now: 11), "b", "recovered after its cool-down")
        XCTAssertEqual(pool.next(now: 11, avoiding: "c"), "a")
        for key in ["a", "b", "c"] { pool.coolDown(key, seconds: key == "c" ? 1 : 5, now: 20) }
        XCTAssertEqual(pool.next(now: 20), "c", "all cooling: the one that recovers first")
    }
}
