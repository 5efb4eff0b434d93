import NIOEmbedded
import TestSupport
import XCTest

@testable import Shared

final class RateLimitLeaseTests: XCTestCase {
    /// A lease's decisions are those its holder would get from the bucket charged request by request: the TATs
    /// Redis reported after the grant, less what is not used yet, moved on by the time since.
    func testLeaseDecisionsAreThoseOfTheBucketChargedRequestByRequest() throws {
        var random = SplitMix64(seed: 0x1EA5E)
        var leasesEmptiedByTokens = 0
        for trial in 0..<300 {
            let requestsPerMinute = Int(60 + random.next() % 29_940)
            // Token limits that divide a minute's microseconds: a token's increment is then exact, so the lease's
            // one charge and the bucket's charge per request leave the same TAT to the microsecond.
            let exactTokenLimits = [10_000, 12_000, 24_000, 50_000, 75_000, 120_000, 250_000, 375_000, 600_000, 1_000_000]
            let tokensPerMinute = trial % 3 == 0 ? 0 : exactTokenLimits[Int(random.next() % 10)]
            let limits = RateLimits(requestsPerMinute: requestsPerMinute, tokensPerMinute: tokensPerMinute)
            let requestGCRA = try XCTUnwrap(GCRA(limit: requestsPerMinute))
            let tokenGCRA = GCRA(limit: tokensPerMinute)
            // Token costs of 1/1000–1/200 of the limit: each moves the token TAT by 60–300 ms, a request by at least
            // 2 ms, and the clock moves at most 1 ms a step, so the bucket, charged at the grant, never fills up
            // again during the lease (were it full, Redis's TAT and the view would start from the grant's instant,
            // a bucket charged later from its own).
            func cost() -> Int {
                tokensPerMinute == 0 ? Int(random.next() % 500)
                    : tokensPerMinute / 1_000 + Int(random.next() % UInt64(tokensPerMinute / 250))
            }
            var bucket = RateLimitBucket()
            var now: Int64 = 5_000_000_000
            for _ in 0..<Int(random.next() % 5) { _ = bucket.acquire(limits: limits, tokens: cost(), now: now) }
            now += Int64(random.next() % 3_000)
            // The request whose script call takes the lease, charged at the grant as the script does.
            XCTAssertTrue(bucket.acquire(limits: limits, tokens: cost(), now: now).allowed)

            // The grant as the script makes it: whole requests, each its own increment, and tokens in one charge.
            let requests = Int(1 + random.next() % 12)
            let tokens = tokensPerMinute == 0 ? 0 : requests * (tokensPerMinute / 600)
            let requestTAT = max(bucket.requestTAT ?? now, now) + Int64(requests) * requestGCRA.increment(cost: 1) - now
            let tokenTAT = tokenGCRA.map { max(bucket.tokenTAT ?? now, now) + $0.increment(cost: tokens) - now } ?? 0
            var lease = RateLimitLease(limits: limits, requests: requests, tokens: tokens,
                                       requestTATAfterGrant: requestTAT, tokenTATAfterGrant: tokenTAT, grantedAt: now)
            var admitted = 0
            while true {
                now += Int64(random.next() % 1_000)
                let tokensAsked = cost()
                guard let decision = lease.admit(limits: limits, tokens: tokensAsked, now: now) else {
                    if lease.requestsLeft > 0 {
                        XCTAssertLessThan(lease.tokensLeft, tokensAsked, "trial \(trial)")
                        leasesEmptiedByTokens += 1
                    }
                    break
                }
                admitted += 1
                let expected = bucket.acquire(limits: limits, tokens: tokensAsked, now: now)
                XCTAssertTrue(expected.allowed, "trial \(trial): the lease admitted past the bucket")
                XCTAssertEqual(decision, expected, "trial \(trial), request \(admitted) of \(requests), limits \(limits)")
            }
            XCTAssertLessThanOrEqual(admitted, requests)
            if tokensPerMinute == 0 { XCTAssertEqual(admitted, requests, "trial \(trial)") }
        }
        XCTAssertGreaterThan(leasesEmptiedByTokens, 0, "some leases must run out of tokens before requests")
    }

    func testLeaseAdmitsNothingOnceOverOrUnderOtherLimits() {
        let limits = RateLimits(requestsPerMinute: 600, tokensPerMinute: 0)
        var lease = RateLimitLease(limits: limits, requests: 5, tokens: 0, requestTATAfterGrant: 600_000,
                                   tokenTATAfterGrant: 0, grantedAt: 1_000)
        XCTAssertNil(lease.admit(limits: RateLimits(requestsPerMinute: 601, tokensPerMinute: 0), tokens: 0, now: 1_000))
        XCTAssertNotNil(lease.admit(limits: limits, tokens: 0, now: 1_000 + RateLimitLease.lifetimeMicroseconds - 1))
        XCTAssertNil(lease.admit(limits: limits, tokens: 0, now: 1_000 + RateLimitLease.lifetimeMicroseconds))
        XCTAssertEqual(lease.requestsLeft, 4)
    }

    /// A bucket that fills up again during a lease (a large limit, a lease used late) still shows each request's own
    /// charge: never the whole limit left after a request.
    func testLeaseViewOfABucketFullAgainStillCountsTheRequest() throws {
        let limits = RateLimits(requestsPerMinute: 100_000, tokensPerMinute: 1_000_000)  // 600 µs a request, 60 a token
        var lease = RateLimitLease(limits: limits, requests: 2, tokens: 100, requestTATAfterGrant: 1_200,
                                   tokenTATAfterGrant: 6_000, grantedAt: 0)
        let decision = try XCTUnwrap(lease.admit(limits: limits, tokens: 10, now: 50_000))
        XCTAssertEqual(decision.requestsRemaining, 99_999)
        XCTAssertEqual(decision.tokensRemaining, 999_990)
        XCTAssertEqual(decision.requestsResetSeconds, 0.000_6)
        XCTAssertEqual(decision.tokensResetSeconds, 0.000_6)
    }

    /// The book asks for a lease only for a bucket asked at least twice within a lifetime, never for two at once,
    /// gives back what a lease did not use (with the corrections gathered meanwhile), and forgets idle buckets.
    func testBookLeasesBusyBucketsAndGivesBackWhatIsLeft() throws {
        let loop = EmbeddedEventLoop()
        defer { try? loop.syncShutdownGracefully() }
        typealias Release = (bucket: String, limits: RateLimits, terms: RateLimitLease.Terms)
        var released: [Release] = []
        let book = RateLimitLeaseBook(loop: loop, maxRequests: 4) { released.append(($0, $1, $2)) }
        let limits = RateLimits(requestsPerMinute: 6_000, tokensPerMinute: 60_000)
        var now: Int64 = 1_000_000

        XCTAssertNil(book.admit(bucket: "a", limits: limits, tokens: 10, now: now))
        XCTAssertEqual(book.terms(bucket: "a", limits: limits, now: now), .init(), "asked once: no lease")
        XCTAssertNil(book.admit(bucket: "a", limits: limits, tokens: 30, now: now))
        XCTAssertNil(book.admit(bucket: "a", limits: limits, tokens: 20, now: now))
        // Three asks of 20 tokens on average: a lease of three requests and 60 tokens.
        XCTAssertEqual(book.terms(bucket: "a", limits: limits, now: now), .init(wantRequests: 3, wantTokens: 60))
        XCTAssertEqual(book.terms(bucket: "a", limits: limits, now: now), .init(), "one lease asked at a time")
        XCTAssertTrue(book.correct(bucket: "a", limits: limits, deltaTokens: -7))
        XCTAssertFalse(book.correct(bucket: "b", limits: limits, deltaTokens: -7), "b is not followed")

        book.granted(bucket: "a", limits: limits, .init(requests: 3, tokens: 50, requestTAT: 30_000, tokenTAT: 60_000),
                     now: now)
        XCTAssertEqual(book.admit(bucket: "a", limits: limits, tokens: 20, now: now)?.allowed, true)
        XCTAssertEqual(book.admit(bucket: "a", limits: limits, tokens: 20, now: now)?.allowed, true)
        XCTAssertNil(book.admit(bucket: "a", limits: limits, tokens: 20, now: now), "10 tokens left")
        // The lease cannot cover an average request any more: given back (one request, 10 tokens, and the
        // correction) by the call for the request it refused, which asks for the next one (six asks now, capped at four).
        XCTAssertEqual(book.terms(bucket: "a", limits: limits, now: now),
                       .init(wantRequests: 4, wantTokens: 80, returnedRequests: 1, tokenDelta: -17))
        book.granted(bucket: "a", limits: limits, .init(requests: 4, tokens: 80, requestTAT: 50_000, tokenTAT: 90_000),
                     now: now)
        XCTAssertNotNil(book.admit(bucket: "a", limits: limits, tokens: 20, now: now))
        XCTAssertTrue(book.correct(bucket: "a", limits: limits, deltaTokens: 5))
        XCTAssertTrue(released.isEmpty)

        // Past its lifetime the sweep gives back the lease's rest with the corrections, then forgets the bucket.
        now += RateLimitLease.lifetimeMicroseconds
        book.sweep(now: now)
        XCTAssertEqual(released.count, 1)
        XCTAssertEqual(released.first?.bucket, "a")
        XCTAssertEqual(released.first?.terms, .init(returnedRequests: 3, tokenDelta: 5 - 60))
        XCTAssertNil(book.lease(of: "a"))
        XCTAssertEqual(book.bucketCount, 1, "asked in the window before")
        now += 2 * RateLimitLease.lifetimeMicroseconds
        book.sweep(now: now)
        XCTAssertEqual(book.bucketCount, 0)

        // A lease granted under limits since changed is given back in its own units, apart from the new call.
        for _ in 0..<2 { XCTAssertNil(book.admit(bucket: "c", limits: limits, tokens: 1, now: now)) }
        XCTAssertEqual(book.terms(bucket: "c", limits: limits, now: now).wantRequests, 2)
        book.granted(bucket: "c", limits: limits, .init(requests: 2, tokens: 2, requestTAT: 20_000, tokenTAT: 2_000),
                     now: now)
        let reloaded = RateLimits(requestsPerMinute: 60, tokensPerMinute: 0)
        XCTAssertNil(book.admit(bucket: "c", limits: reloaded, tokens: 1, now: now))
        XCTAssertEqual(book.terms(bucket: "c", limits: reloaded, now: now), .init(wantRequests: 3))
        XCTAssertEqual(released.last?.limits, limits)
        XCTAssertEqual(released.last?.terms, .init(returnedRequests: 2, tokenDelta: -2))
    }
}
