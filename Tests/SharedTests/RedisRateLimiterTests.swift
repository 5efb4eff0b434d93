import Foundation
import Logging
import NIOCore
import TestSupport
import XCTest

@testable import Shared

final class RedisRateLimiterTests: RedisServerTestCase {
    private func makeLimiter(_ client: RedisClient, leaseRequests: Int = 0) -> RedisRateLimiter {
        var logger = Logger(label: "test.ratelimit")
        logger.logLevel = .critical
        return RedisRateLimiter(client: client, logger: logger, leaseRequests: leaseRequests)
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

    /// The Lua script and `GCRA` (`LocalRateLimiter`, `RateLimitBucket`) must take identical decisions, and grant
    /// identical leases, on identical inputs.
    func testLuaScriptAgreesWithLocalLimiterStepByStep() throws {
        let client = try self.connectedClient(try self.startServer())
        let redis = self.makeLimiter(client)
        // Limits of 5 and 7 a minute leave no room for a lease (an eighth of at most 7 requests); 240 a minute
        // rarely runs out within these steps.
        let configurations = [
            (limits: RateLimits(requestsPerMinute: 5, tokensPerMinute: 1_000), leases: false, denials: true),
            (limits: RateLimits(requestsPerMinute: 0, tokensPerMinute: 777), leases: true, denials: true),
            (limits: RateLimits(requestsPerMinute: 13, tokensPerMinute: 0), leases: true, denials: true),
            (limits: RateLimits(requestsPerMinute: 7, tokensPerMinute: 100_003), leases: false, denials: true),
            (limits: RateLimits(requestsPerMinute: 240, tokensPerMinute: 50_000), leases: true, denials: false),
        ]
        var random = SplitMix64(seed: 0x5EED)
        for (index, (limits, expectLeases, expectDenials)) in configurations.enumerated() {
            let local = LocalRateLimiter()
            let bucket = SHA256Digest.hex("bucket-\(index)".utf8)
            var clock = InjectedClock()
            var allowedCount = 0
            var deniedCount = 0
            var leasesGranted = 0
            for step in 0..<400 {
                let now = clock.now
                let roll = random.next() % 100
                if roll < 15 {
                    clock.skip(Int64(random.next() % 20_000_000))
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
                } else if roll < 60 {
                    let tokens =
                        roll < 28 ? Int(random.next() % 3_000) + limits.tokensPerMinute : Int(random.next() % 400)
                    let expected = local.acquire(bucket: bucket, limits: limits, tokens: tokens, now: now)
                    let actual = try XCTUnwrap(self.acquire(redis, bucket, limits, tokens: tokens, now: now)).get()
                    XCTAssertEqual(actual, expected, "limits \(limits), step \(step), tokens \(tokens)")
                    if expected.allowed { allowedCount += 1 } else { deniedCount += 1 }
                } else {
                    // With a lease's terms: a give-back first, then the request, then a lease from the room left.
                    let tokens = Int(random.next() % 400)
                    let terms = RateLimitLease.Terms(
                        wantRequests: Int(random.next() % 4), wantTokens: Int(random.next() % 2_000),
                        returnedRequests: Int(random.next() % 3), tokenDelta: Int(random.next() % 600) - 300)
                    let expected = local.acquire(bucket: bucket, limits: limits, tokens: tokens, terms: terms, now: now)
                    typealias Outcome = ([Result<RateLimitDecision, RateLimitError>], RateLimitLease.Grant?)
                    let outcome: Outcome = try XCTUnwrap(WaitForCallback.result { done in
                        RedisRateLimiter.acquire(on: client, bucket: bucket, limits: limits, costs: [tokens],
                                                 terms: terms, nowMicroseconds: now) { done(($0, $1)) }
                    })
                    let context = "limits \(limits), step \(step), tokens \(tokens), \(terms)"
                    XCTAssertEqual(try outcome.0.first?.get(), expected.decision, context)
                    XCTAssertEqual(outcome.1, expected.grant, context)
                    if expected.grant.requests > 0 { leasesGranted += 1 }
                    if expected.decision.allowed { allowedCount += 1 } else { deniedCount += 1 }
                }
            }
            // The sequence must have exercised both outcomes to mean anything.
            XCTAssertGreaterThan(allowedCount, 0, "\(limits)")
            if expectDenials { XCTAssertGreaterThan(deniedCount, 0, "\(limits)") }
            if expectLeases { XCTAssertGreaterThan(leasesGranted, 0, "\(limits)") }
        }
    }

    /// Several requests decided in one script call get the decisions separate calls at the same instant would.
    func testOneCallForSeveralRequestsDecidesThemInOrderLikeSeparateCalls() throws {
        let client = try self.connectedClient(try self.startServer())
        let redis = self.makeLimiter(client)
        let configurations = [
            RateLimits(requestsPerMinute: 9, tokensPerMinute: 2_000),
            RateLimits(requestsPerMinute: 0, tokensPerMinute: 1_500),
            RateLimits(requestsPerMinute: 11, tokensPerMinute: 0),
        ]
        var random = SplitMix64(seed: 0xBA7C4)
        for (index, limits) in configurations.enumerated() {
            let local = LocalRateLimiter()
            let bucket = SHA256Digest.hex("batch-\(index)".utf8)
            var clock = InjectedClock()
            var outcomes: Set<[Bool]> = []
            for round in 0..<60 {
                let now = clock.now
                if random.next() % 100 < 20 { clock.skip(Int64(random.next() % 15_000_000)) }
                let costs = (0..<Int(1 + random.next() % 6)).map { _ in
                    random.next() % 10 == 0 ? Int(random.next() % 3_000) + limits.tokensPerMinute
                        : Int(random.next() % 500)
                }
                let expected = costs.map { local.acquire(bucket: bucket, limits: limits, tokens: $0, now: now) }
                let actual = try XCTUnwrap(WaitForCallback.result {
                    redis.acquire(bucket: bucket, limits: limits, costs: costs, nowMicroseconds: now, completion: $0)
                })
                XCTAssertEqual(try actual.map { try $0.get() }, expected, "limits \(limits), round \(round), costs \(costs)")
                outcomes.insert(expected.map(\.allowed))
            }
            // Calls must have mixed admitted and refused requests to mean anything.
            XCTAssertTrue(outcomes.contains { $0.contains(true) && $0.contains(false) }, "\(limits)")
        }
    }

    /// The acquires asked on the client's loop in one round travel as one pipeline: one script call per limited
    /// bucket, then the commands sent along with them, each answered with its own decision and reply.
    func testAcquiresOfOneLoopRoundShareOneScriptCallPerBucket() throws {
        let client = try self.connectedClient(try self.startServer())
        let limiter = self.makeLimiter(client)
        let loop = try XCTUnwrap(client.eventLoops.first)
        let limits = RateLimits(requestsPerMinute: 5, tokensPerMinute: 0)
        let unlimited = RateLimits(requestsPerMinute: 0, tokensPerMinute: 0)
        let buckets = [SHA256Digest.hex("round-a".utf8), SHA256Digest.hex("round-b".utf8), "round-unlimited"]
        XCTAssertEqual(client.sendAndWait(["SET", "along-0", "zero"]), .success(.status("OK")))
        let callsBefore = try self.evalSHACalls(client)

        typealias Outcome = (decision: Result<RateLimitDecision, RateLimitError>, along: Result<RedisReply, RedisError>?)
        let outcomes = LockedBox([Int: Outcome]())
        let group = DispatchGroup()
        // Seven asks of bucket a, two of bucket b and one of an unlimited bucket, interleaved, all within one task on
        // the loop; every third carries a GET along.
        let order = [0, 0, 1, 0, 2, 0, 0, 1, 0, 0]
        for _ in order { group.enter() }
        loop.execute {
            for (index, bucket) in order.enumerated() {
                let along: [RESPArgument]? = index % 3 == 0 ? [.text("GET"), .text("along-\(index)")] : nil
                limiter.acquire(bucket: buckets[bucket], limits: bucket == 2 ? unlimited : limits, tokens: 0,
                                along: along) { decision, reply in
                    outcomes.mutate { $0[index] = (decision, reply) }
                    group.leave()
                }
            }
        }
        XCTAssertEqual(group.wait(timeout: .now() + 10), .success)
        let results = try (0..<order.count).map { try XCTUnwrap(outcomes.value[$0]) }
        let decisions = try results.map { try $0.decision.get() }

        let ofA = decisions.indices.filter { order[$0] == 0 }.map { decisions[$0] }
        XCTAssertEqual(ofA.map(\.allowed), [true, true, true, true, true, false, false])
        XCTAssertEqual(ofA.map(\.requestsRemaining), [4, 3, 2, 1, 0, 0, 0])
        XCTAssertGreaterThan(try XCTUnwrap(ofA.last?.retryAfterSeconds), 0)
        let ofB = decisions.indices.filter { order[$0] == 1 }.map { decisions[$0] }
        XCTAssertEqual(ofB.map(\.allowed), [true, true])
        XCTAssertEqual(ofB.map(\.requestsRemaining), [4, 3])
        XCTAssertEqual(decisions[4], .unlimited)
        for (index, result) in results.enumerated() {
            switch (index, result.along) {
            case (0, .success(.bulk(let value))?): XCTAssertEqual(value, Array("zero".utf8))
            case (let index, .success(.null)?) where index % 3 == 0 && index > 0: break
            case (let index, nil) where index % 3 != 0: break
            default: XCTFail("ask \(index): \(String(describing: result.along))")
            }
        }
        XCTAssertEqual(try self.evalSHACalls(client) - callsBefore, 2, "one script call per limited bucket")

        // After a SCRIPT FLUSH the round's call is repaired (loaded and retried) and still decides every request.
        XCTAssertEqual(client.sendAndWait(["SCRIPT", "FLUSH"]), .success(.status("OK")))
        let after = LockedBox([Outcome]())
        group.enter()
        group.enter()
        loop.execute {
            for along: [RESPArgument]? in [nil, [.text("GET"), .text("along-0")]] {
                limiter.acquire(bucket: buckets[1], limits: limits, tokens: 0, along: along) { decision, reply in
                    after.mutate { $0.append((decision, reply)) }
                    group.leave()
                }
            }
        }
        XCTAssertEqual(group.wait(timeout: .now() + 10), .success)
        XCTAssertEqual(try after.value.map { try $0.decision.get().requestsRemaining }, [2, 1])
        XCTAssertNil(after.value.first?.along)
        XCTAssertEqual(after.value.last?.along, .success(.bulk(Array("zero".utf8))))
    }

    /// Asks `limiters[i]` `count` times on `loops[i]` for each i, in one task per loop (one round of its work), and
    /// waits for every answer; returns how many were admitted.
    private func askInOneRound(_ limiters: [RedisRateLimiter], on loops: [EventLoop], bucket: String,
                               limits: RateLimits, count: Int) -> Int {
        let admitted = LockedBox(0)
        let group = DispatchGroup()
        for (limiter, loop) in zip(limiters, loops) {
            for _ in 0..<count { group.enter() }
            loop.execute {
                for _ in 0..<count {
                    limiter.acquire(bucket: bucket, limits: limits, tokens: 0, along: nil) { decision, _ in
                        if (try? decision.get())?.allowed == true { admitted.mutate { $0 += 1 } }
                        group.leave()
                    }
                }
            }
        }
        XCTAssertEqual(group.wait(timeout: .now() + 10), .success)
        return admitted.value
    }

    /// The script takes back what a lease gives back before deciding, then grants at most an eighth of the room left
    /// in each dimension, charged like requests; a bucket near its limit gets no lease.
    func testScriptTakesBackThenGrantsAShareOfTheRoom() throws {
        let client = try self.connectedClient(try self.startServer())
        let limits = RateLimits(requestsPerMinute: 800, tokensPerMinute: 80_000)  // 75 ms a request, 750 µs a token
        let now: Int64 = 1_800_000_000_000_000
        typealias Outcome = (decisions: [Result<RateLimitDecision, RateLimitError>], grant: RateLimitLease.Grant?)
        func call(_ bucket: String, _ limits: RateLimits, _ costs: [Int], _ terms: RateLimitLease.Terms = .init())
            throws -> (decisions: [RateLimitDecision], grant: RateLimitLease.Grant)
        {
            let outcome: Outcome = try XCTUnwrap(WaitForCallback.result { done in
                RedisRateLimiter.acquire(on: client, bucket: bucket, limits: limits, costs: costs, terms: terms,
                                         nowMicroseconds: now) { done(($0, $1)) }
            })
            return (try outcome.decisions.map { try $0.get() }, try XCTUnwrap(outcome.grant))
        }
        let bucket = SHA256Digest.hex("lease-script".utf8)
        let first = try call(bucket, limits, [100], .init(wantRequests: 200, wantTokens: 40_000))
        XCTAssertEqual(first.decisions.map(\.requestsRemaining), [799])
        XCTAssertEqual(first.decisions.map(\.tokensRemaining), [79_900])
        // An eighth of the 799 requests and 79,900 tokens left.
        XCTAssertEqual(first.grant, .init(requests: 99, tokens: 9_987, requestTAT: 100 * 75_000,
                                          tokenTAT: 100 * 750 + 9_987 * 750))
        let second = try call(bucket, limits, [0])
        XCTAssertEqual(second.decisions.map(\.requestsRemaining), [699])
        XCTAssertEqual(second.decisions.map(\.tokensRemaining), [69_913])
        XCTAssertEqual(second.grant.requests, 0)
        // The whole lease given back: as if only the two requests had been charged.
        let back = try call(bucket, limits, [], .init(returnedRequests: 99, tokenDelta: -9_987))
        XCTAssertEqual(back.grant, .init(requests: 0, tokens: 0, requestTAT: 2 * 75_000, tokenTAT: 100 * 750))
        XCTAssertEqual(try call(bucket, limits, [0]).decisions.map(\.requestsRemaining), [797])

        // Near the limit: five of ten requests left after these, an eighth of which is no whole request.
        let small = RateLimits(requestsPerMinute: 10, tokensPerMinute: 0)
        let near = try call(SHA256Digest.hex("lease-near".utf8), small, [0, 0, 0, 0, 0], .init(wantRequests: 5))
        XCTAssertEqual(near.decisions.map(\.allowed), [true, true, true, true, true])
        XCTAssertEqual(near.grant.requests, 0)

        // Giving back everything leaves a full bucket, whose key is deleted rather than stored at now.
        let full = SHA256Digest.hex("lease-full".utf8)
        XCTAssertTrue(try call(full, limits, [0], .init(wantRequests: 8)).grant.requests == 8)
        XCTAssertEqual(client.sendAndWait(["EXISTS", RedisRateLimiter.requestKey(bucket: full)]), .success(.integer(1)))
        _ = try call(full, limits, [], .init(returnedRequests: 9))
        XCTAssertEqual(client.sendAndWait(["EXISTS", RedisRateLimiter.requestKey(bucket: full)]), .success(.integer(0)))
    }

    /// Two limiters ("workers") with leases on one bucket: busy loops admit most requests from their leases, far
    /// fewer script calls than rounds are made, the two never admit more than the limit, and a lease's unused part
    /// goes back to Redis once its lifetime is over.
    func testLoopLeasesSaveScriptCallsNeverPassTheLimitAndAreGivenBack() throws {
        let server = try self.startServer()
        let clients = [try self.connectedClient(server), try self.connectedClient(server)]
        let limiters = clients.map { self.makeLimiter($0, leaseRequests: 64) }
        let loops = try clients.map { try XCTUnwrap($0.eventLoops.first) }
        let limits = RateLimits(requestsPerMinute: 1_200, tokensPerMinute: 0)  // one request every 50 ms

        let busy = SHA256Digest.hex("lease-busy".utf8)
        let started = Date()
        // 1,000 asks, within the limit: all admitted, most from leases.
        let callsBefore = try self.evalSHACalls(clients[0])
        var admitted = 0
        for _ in 0..<50 {
            admitted += self.askInOneRound(limiters, on: loops, bucket: busy, limits: limits, count: 10)
        }
        let calls = try self.evalSHACalls(clients[0]) - callsBefore
        XCTAssertEqual(admitted, 1_000)
        // Without leases every round of each loop is a script call (100); with them about one in five here, and at
        // worst one in two (a loop so slow that each 10-ask round is a lifetime apart still gets leases of 10).
        XCTAssertLessThanOrEqual(calls, 50, "\(calls) script calls for 100 rounds")
        // 600 more asks against 1,200 a minute: the limit and what refilled meanwhile, never more; and not much less
        // (a lease near the limit is small, and both loops go on asking until the end).
        for _ in 0..<30 {
            admitted += self.askInOneRound(limiters, on: loops, bucket: busy, limits: limits, count: 10)
        }
        let elapsed = Date().timeIntervalSince(started)
        XCTAssertLessThanOrEqual(admitted, 1_200 + Int(elapsed * 20) + 1, "admitted past the limit")
        XCTAssertGreaterThanOrEqual(admitted, 1_150)

        // A lease left unused goes back: 100 asks on one loop, then the lease's rest is returned by the sweep.
        let quiet = RateLimits(requestsPerMinute: 600, tokensPerMinute: 0)  // one request every 100 ms
        let (idle, idleStarted) = try XCTUnwrap(
            self.bucketWithUnusedLease(limiters[0], on: loops[0], name: "lease-idle", limits: quiet, rounds: 5, count: 20))
        XCTAssertTrue(WaitForCallback.until {
            (try? loops[0].submit { limiters[0].leasesOfCurrentLoop?.lease(of: idle) == nil }.wait()) == true
        })
        // The give-back was written when the lease went; asked through the same connection (a command sent from
        // another thread goes out on the first loop's), Redis runs this after it.
        let plain = self.makeLimiter(clients[0])
        let remaining = try XCTUnwrap(self.acquire(plain, idle, quiet, tokens: 0)).get().requestsRemaining
        // 600 less the 100 used and this one, plus what refilled since (one every 100 ms); without the give-back,
        // the lease's rest would still be charged.
        XCTAssertGreaterThanOrEqual(remaining, 600 - 100 - 1)
        XCTAssertLessThanOrEqual(remaining, 600 - 100 - 1 + Int(Date().timeIntervalSince(idleStarted) * 10) + 1)
    }

    /// A draining worker hands back what its leases did not use at once, without waiting for their lifetime.
    func testHandingBackLeasesReturnsWhatTheyDidNotUse() throws {
        let server = try self.startServer()
        let client = try self.connectedClient(server)
        let limiter = self.makeLimiter(client, leaseRequests: 64)
        let loop = try XCTUnwrap(client.eventLoops.first)
        let limits = RateLimits(requestsPerMinute: 600, tokensPerMinute: 0)  // one request every 100 ms
        let (bucket, started) = try XCTUnwrap(
            self.bucketWithUnusedLease(limiter, on: loop, name: "lease-drain", limits: limits, rounds: 3, count: 20))

        try limiter.handBackLeases(on: loop).wait()
        XCTAssertNil(try loop.submit { limiter.leasesOfCurrentLoop?.lease(of: bucket) }.wait())
        // Through the connection the hand-back was written on, so Redis runs this after it.
        let plain = self.makeLimiter(client)
        let remaining = try XCTUnwrap(self.acquire(plain, bucket, limits, tokens: 0)).get().requestsRemaining
        XCTAssertGreaterThanOrEqual(remaining, 600 - 60 - 1)
        XCTAssertLessThanOrEqual(remaining, 600 - 60 - 1 + Int(Date().timeIntervalSince(started) * 10) + 1)
    }

    /// Asks `rounds` rounds of `count` asks on `loop` for a fresh bucket until one is left holding a lease with more
    /// than 5 requests unused (nil after five buckets): a stall of a loaded machine between two rounds ends a lease
    /// early, and the next one may then be used up. Returns the bucket and when its asks began.
    private func bucketWithUnusedLease(_ limiter: RedisRateLimiter, on loop: EventLoop, name: String,
                                       limits: RateLimits, rounds: Int, count: Int) throws -> (String, Date)? {
        for attempt in 0..<5 {
            let bucket = SHA256Digest.hex("\(name)-\(attempt)".utf8)
            let started = Date()
            var admitted = 0
            for _ in 0..<rounds {
                admitted += self.askInOneRound([limiter], on: [loop], bucket: bucket, limits: limits, count: count)
            }
            XCTAssertEqual(admitted, rounds * count)
            let leftover = try loop.submit { limiter.leasesOfCurrentLoop?.lease(of: bucket)?.requestsLeft ?? 0 }.wait()
            if leftover > 5 { return (bucket, started) }
        }
        return nil
    }

    /// `EVALSHA` calls redis-server has run so far (`INFO commandstats`).
    private func evalSHACalls(_ client: RedisClient) throws -> Int {
        let reply = client.sendAndWait(["INFO", "commandstats"])
        guard case .success(.bulk(let info)) = reply else {
            XCTFail("INFO commandstats: \(String(describing: reply))")
            return -1
        }
        let text = String(decoding: info, as: UTF8.self)
        guard let line = text.split(separator: "\r\n").first(where: { $0.hasPrefix("cmdstat_evalsha:") }) else {
            return 0
        }
        let calls = line.split(separator: ":")[1].split(separator: ",").first { $0.hasPrefix("calls=") }
        return try XCTUnwrap(calls.flatMap { Int($0.dropFirst("calls=".count)) })
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

    func testRedisDownFailsEveryAcquireOfALoopRound() throws {
        let client = self.makeClient(RedisURL(host: "127.0.0.1", port: try RedisServerProcess.freePort()))
        let limiter = self.makeLimiter(client)
        XCTAssertTrue(WaitForCallback.until { client.state == .down })
        let loop = try XCTUnwrap(client.eventLoops.first)
        let failures = LockedBox(0)
        let group = DispatchGroup()
        for _ in 0..<3 { group.enter() }
        loop.execute {
            for _ in 0..<3 {
                limiter.acquire(bucket: "down", limits: RateLimits(requestsPerMinute: 5, tokensPerMinute: 0),
                                tokens: 0, along: [.text("GET"), .text("k")]) { decision, reply in
                    if case .failure(.unavailable) = decision, case .failure(.unavailable)? = reply {
                        failures.mutate { $0 += 1 }
                    }
                    group.leave()
                }
            }
        }
        XCTAssertEqual(group.wait(timeout: .now() + 10), .success)
        XCTAssertEqual(failures.value, 3)
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

/// The clock given to the script and to `GCRA` side by side: real time plus skipped stretches, so it never runs
/// slower than real time and a Redis key (which expires on real time, 1 s after its TAT) never vanishes before the
/// TAT the local limiter holds.
private struct InjectedClock {
    private let start = Date()
    private var skipped: Int64 = 0

    /// Microseconds.
    var now: Int64 { 1_700_000_000_000_000 + skipped + Int64(Date().timeIntervalSince(start) * 1_000_000) }

    mutating func skip(_ microseconds: Int64) { skipped += microseconds }
}
