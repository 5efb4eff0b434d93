import Foundation
import Logging
import XCTest

@testable import Shared

final class RedisRateLimiterTests: RedisServerTestCase {
    private func makeLimiter(_ client: RedisClient) -> RedisRateLimiter {
        var logger = Logger(label: "test.ratelimit")
        logger.logLevel = .critical
        return RedisRateLimiter(client: client, logger: logger)
    }

    private func acquire(
        _ limiter: RedisRateLimiter,
        _ bucket: String,
        _ limits: RateLimits,
        tokens: Int,
        now: Int64? = nil
    ) -> Result<RateLimitDecision, RateLimitError>? {
        WaitForCallback.result {
            limiter.acquire(bucket: bucket, limits: limits, tokens: tokens, nowMicroseconds: now, completion: $0)
        }
    }

    /// The Lua script and `GCRA` must take identical decisions on identical inputs.
    func testLuaScriptAgreesWithLocalLimiterStepByStep() throws {
        let client = try self.connectedClient(try self.startServer())
        let redis = self.makeLimiter(client)
        let configurations = [
            RateLimits(requestsPerMinute: 5, tokensPerMinute: 1_000),
            RateLimits(requestsPerMinute: 0, tokensPerMinute: 777),
            RateLimits(requestsPerMinute: 13, tokensPerMinute: 0),
            RateLimits(requestsPerMinute: 7, tokensPerMinute: 100_003),
        ]
        var random = SplitMix64(seed: 0x5EED)
        for (index, limits) in configurations.enumerated() {
            let local = LocalRateLimiter()
            let bucket = SHA256Digest.hex("bucket-\(index)".utf8)
            // The injected clock never runs slower than real time, so a Redis key (which expires on
            // real time, 1 s after its TAT) never vanishes before the TAT the local limiter holds.
            let start = Date()
            var skipped: Int64 = 0
            let base: Int64 = 1_700_000_000_000_000
            var allowedCount = 0
            var deniedCount = 0
            for step in 0..<250 {
                let now = base + skipped + Int64(Date().timeIntervalSince(start) * 1_000_000)
                let roll = random.next() % 100
                if roll < 15 {
                    skipped += Int64(random.next() % 20_000_000)
                } else if roll < 25 {
                    let delta = Int(random.next() % 600) - 300
                    local.correct(bucket: bucket, limits: limits, deltaTokens: delta, now: now)
                    let corrected = WaitForCallback.result {
                        redis.correct(
                            bucket: bucket,
                            limits: limits,
                            deltaTokens: delta,
                            nowMicroseconds: now,
                            completion: $0
                        )
                    }
                    XCTAssertNotNil(try corrected?.get(), "step \(step)")
                } else {
                    let tokens =
                        roll < 28 ? Int(random.next() % 3_000) + limits.tokensPerMinute : Int(random.next() % 400)
                    let expected = local.acquire(bucket: bucket, limits: limits, tokens: tokens, now: now)
                    let actual = try XCTUnwrap(self.acquire(redis, bucket, limits, tokens: tokens, now: now)).get()
                    XCTAssertEqual(actual, expected, "limits \(limits), step \(step), tokens \(tokens)")
                    if expected.allowed { allowedCount += 1 } else { deniedCount += 1 }
                }
            }
            // The sequence must have exercised both outcomes to mean anything.
            XCTAssertGreaterThan(allowedCount, 0, "\(limits)")
            XCTAssertGreaterThan(deniedCount, 0, "\(limits)")
        }
    }

    func testServerClockBurstThenDenyWithExpiringKeys() throws {
        let client = try self.connectedClient(try self.startServer())
        let limiter = self.makeLimiter(client)
        let bucket = SHA256Digest.hex("server-clock".utf8)
        let limits = RateLimits(requestsPerMinute: 3, tokensPerMinute: 0)

        for remaining in [2, 1, 0] {
            let decision = try XCTUnwrap(self.acquire(limiter, bucket, limits, tokens: 50)).get()
            XCTAssertTrue(decision.allowed)
            XCTAssertEqual(decision.requestsRemaining, remaining)
        }
        let denied = try XCTUnwrap(self.acquire(limiter, bucket, limits, tokens: 50)).get()
        XCTAssertFalse(denied.allowed)
        // One request refills every 20 s; a little of that has passed since the first acquire.
        let retry = try XCTUnwrap(denied.retryAfterSeconds)
        XCTAssertGreaterThan(retry, 10)
        XCTAssertLessThanOrEqual(retry, 20)
        XCTAssertEqual(denied.tokensLimit, 0)

        // The TAT key expires on its own about a second after the bucket is full again.
        guard
            case .success(.integer(let ttl)) = client.sendAndWait(["PTTL", RedisRateLimiter.requestKey(bucket: bucket)])
        else {
            return XCTFail("PTTL failed")
        }
        XCTAssertGreaterThan(ttl, 50_000)
        XCTAssertLessThanOrEqual(ttl, 61_001)
        // An unlimited dimension stores nothing.
        XCTAssertEqual(
            client.sendAndWait(["EXISTS", RedisRateLimiter.tokenKey(bucket: bucket)]),
            .success(.integer(0))
        )
        XCTAssertEqual(RedisRateLimiter.requestKey(bucket: "ab12"), "cgw:rl:{ab12}:req")
    }

    func testServerClockCorrectionRefundsTokens() throws {
        let client = try self.connectedClient(try self.startServer())
        let limiter = self.makeLimiter(client)
        let bucket = SHA256Digest.hex("refund".utf8)
        let limits = RateLimits(requestsPerMinute: 0, tokensPerMinute: 1_000_000)
        XCTAssertTrue(try XCTUnwrap(self.acquire(limiter, bucket, limits, tokens: 900_000)).get().allowed)
        XCTAssertFalse(try XCTUnwrap(self.acquire(limiter, bucket, limits, tokens: 200_000)).get().allowed)

        let corrected = WaitForCallback.result {
            limiter.correct(bucket: bucket, limits: limits, deltaTokens: -800_000, nowMicroseconds: nil, completion: $0)
        }
        XCTAssertNotNil(try corrected?.get())
        let after = try XCTUnwrap(self.acquire(limiter, bucket, limits, tokens: 200_000)).get()
        XCTAssertTrue(after.allowed)
        XCTAssertGreaterThanOrEqual(after.tokensRemaining, 700_000)
    }

    func testConcurrentAcquiresFromTwoClientsAdmitExactlyTheLimit() throws {
        let server = try self.startServer()
        let limiters = [
            self.makeLimiter(try self.connectedClient(server)),
            self.makeLimiter(try self.connectedClient(server)),
        ]
        let bucket = SHA256Digest.hex("contended".utf8)
        let limits = RateLimits(requestsPerMinute: 10, tokensPerMinute: 0)
        // A fixed clock isolates atomicity from refill: any interleaving of read and write between
        // the two connections would admit more than 10.
        let now: Int64 = 1_800_000_000_000_000
        let admitted = LockedBox(0)
        let failed = LockedBox(0)
        let group = DispatchGroup()
        DispatchQueue.concurrentPerform(iterations: 8) { worker in
            let limiter = limiters[worker % 2]
            for _ in 0..<50 {
                group.enter()
                limiter.acquire(bucket: bucket, limits: limits, tokens: 1, nowMicroseconds: now) { result in
                    switch result {
                    case .success(let decision): if decision.allowed { admitted.mutate { $0 += 1 } }
                    case .failure: failed.mutate { $0 += 1 }
                    }
                    group.leave()
                }
            }
        }
        XCTAssertEqual(group.wait(timeout: .now() + 30), .success)
        XCTAssertEqual(failed.value, 0)
        XCTAssertEqual(admitted.value, 10)
    }

    func testRedisDownIsReportedAndUnlimitedNeedsNoRedis() throws {
        let client = self.makeClient(RedisURL(host: "127.0.0.1", port: try RedisServerProcess.freePort()))
        let limiter = self.makeLimiter(client)
        XCTAssertTrue(WaitForCallback.until { client.state == .down })
        guard
            case .failure(.unavailable) = self.acquire(
                limiter,
                "b",
                RateLimits(requestsPerMinute: 1, tokensPerMinute: 0),
                tokens: 1
            )
        else {
            return XCTFail("expected .unavailable")
        }
        XCTAssertEqual(
            self.acquire(limiter, "b", RateLimits(requestsPerMinute: 0, tokensPerMinute: 0), tokens: 1),
            .success(.unlimited)
        )
    }
}
