import Logging
import NIOCore

/// A fleet-wide `RateLimiting` whose state lives in Redis: the `GCRA` math in one Lua script, run atomically with
/// `EVALSHA` on Redis server time.
///
/// The acquires one event loop of the client asks during one round of its work go out together after the round
/// (`RedisAcquireCoalescer`): one script call per bucket, deciding its requests in order as separate calls would,
/// in one pipeline with the commands sent along with them (`acquire(…along:…)`, the admission's cache lookup).
///
/// With leases on (`leaseRequests` > 0), a loop whose requests ask one bucket often takes a share of its allowance
/// ahead of need (`RateLimitLease`, kept in the loop's `RateLimitLeaseBook`) and admits the next requests from it
/// without asking Redis; token corrections of a leased bucket travel with its next script call.
///
/// Keys are `cgw:rl:{<bucket>}:req` and `cgw:rl:{<bucket>}:tok`, holding TATs in microseconds with a
/// `PX` expiry so idle buckets vanish. The braces are a Redis Cluster hash tag: both keys of a bucket
/// land in the same slot, which a multi-key script requires.
public final class RedisRateLimiter: RateLimiting {
    /// Receives an acquire's decision and, when a command was sent along with it, that command's reply.
    public typealias AcquireCompletion =
        @Sendable (Result<RateLimitDecision, RateLimitError>, Result<RedisReply, RedisError>?) -> Void

    /// What the limiter keeps on one loop of the client.
    private struct LoopShare {
        let coalescer: RedisAcquireCoalescer
        /// nil when leases are off.
        let leases: RateLimitLeaseBook?
    }

    private let client: RedisClient
    private let logger: Logger
    /// One per loop of the client; an acquire asked elsewhere is sent on its own.
    private let loops: [LoopShare]

    /// Creates a limiter on `client` and registers its scripts so every (re)connect loads them. `leaseRequests`: the
    /// largest lease a loop takes, in requests (0: every request is decided by Redis).
    public init(client: RedisClient, logger: Logger, leaseRequests: Int = 0) {
        self.client = client
        self.logger = logger
        client.register(Self.acquireScript)
        client.register(Self.correctScript)
        loops = client.eventLoops.map { loop in
            let leases = leaseRequests <= 0 ? nil : RateLimitLeaseBook(loop: loop, maxRequests: leaseRequests) {
                bucket, limits, terms in Self.giveBack(bucket: bucket, limits: limits, terms: terms, on: client, logger)
            }
            let coalescer = RedisAcquireCoalescer(loop: loop) { [client] round in
                Self.send(round, leases: leases, on: client)
            }
            return LoopShare(coalescer: coalescer, leases: leases)
        }
    }

    public var leaseAdmissions: Int { loops.compactMap(\.leases).admittedFromLeases }

    public func handBackLeases(on loop: EventLoop) -> EventLoopFuture<Void> {
        loops.compactMap(\.leases).handBack(completingOn: loop)
    }

    /// The lease book of the loop the caller runs on, if leases are on (tests look at it).
    var leasesOfCurrentLoop: RateLimitLeaseBook? {
        loops.first { $0.coalescer.loop.inEventLoop }?.leases
    }

    /// The key holding the request-dimension TAT of `bucket`.
    public static func requestKey(bucket: String) -> String { "cgw:rl:{\(bucket)}:req" }

    /// The key holding the token-dimension TAT of `bucket`.
    public static func tokenKey(bucket: String) -> String { "cgw:rl:{\(bucket)}:tok" }

    public func acquire(
        bucket: String,
        limits: RateLimits,
        tokens: Int,
        completion: @escaping @Sendable (Result<RateLimitDecision, RateLimitError>) -> Void
    ) {
        self.acquire(bucket: bucket, limits: limits, tokens: tokens, along: nil) { decision, _ in completion(decision) }
    }

    /// `acquire`, with `companion` (a command whose reply is needed at the same time: the admission's cache
    /// lookup) sent in the same pipeline; its reply comes with the decision.
    public func acquire(
        bucket: String, limits: RateLimits, tokens: Int, along companion: [RESPArgument]?,
        completion: @escaping AcquireCompletion
    ) {
        guard !limits.isUnlimited || companion != nil else {
            // Nothing to ask Redis.
            completion(.success(.unlimited), nil)
            return
        }
        let waiter = RedisAcquireCoalescer.Waiter(tokens: tokens, companion: companion, completion: completion)
        for share in loops where share.coalescer.loop.inEventLoop {
            if !limits.isUnlimited, let leases = share.leases,
                let decision = leases.admit(bucket: bucket, limits: limits, tokens: tokens,
                                            now: LocalRateLimiter.monotonicMicroseconds())
            {
                guard let companion else { return completion(.success(decision), nil) }
                share.coalescer.add(.init(command: companion) { completion(.success(decision), $0) })
                return
            }
            share.coalescer.add(bucket: bucket, limits: limits, waiter: waiter)
            return
        }
        Self.send(.init(groups: [.init(bucket: bucket, limits: limits, waiters: [waiter])]), leases: nil, on: client)
    }

    public func correct(bucket: String, limits: RateLimits, deltaTokens: Int) {
        guard limits.tokensPerMinute > 0, deltaTokens != 0 else { return }
        if let leases = leasesOfCurrentLoop, leases.correct(bucket: bucket, limits: limits, deltaTokens: deltaTokens) {
            return
        }
        let logger = self.logger
        self.correct(bucket: bucket, limits: limits, deltaTokens: deltaTokens, nowMicroseconds: nil) { result in
            if case .failure(let error) = result {
                // Best effort: a lost correction only skews one bucket until its TAT passes.
                logger.debug("rate limit correction dropped", metadata: ["ratelimit.error": "\(error)"])
            }
        }
    }

    // MARK: - One script call

    /// One request's acquire sent on its own, with `nowMicroseconds` replacing Redis `TIME` when given.
    func acquire(
        bucket: String,
        limits: RateLimits,
        tokens: Int,
        nowMicroseconds: Int64?,
        completion: @escaping @Sendable (Result<RateLimitDecision, RateLimitError>) -> Void
    ) {
        self.acquire(bucket: bucket, limits: limits, costs: [tokens], nowMicroseconds: nowMicroseconds) {
            completion($0[0])
        }
    }

    /// Decides requests of one bucket in one script call, in order, as separate calls at one instant would;
    /// `costs` holds each request's tokens, `nowMicroseconds` replaces Redis `TIME` when given (tests compare
    /// against `GCRA`). The decisions arrive in the order of `costs`.
    func acquire(
        bucket: String,
        limits: RateLimits,
        costs: [Int],
        nowMicroseconds: Int64?,
        completion: @escaping @Sendable ([Result<RateLimitDecision, RateLimitError>]) -> Void
    ) {
        Self.acquire(on: client, bucket: bucket, limits: limits, costs: costs, terms: .init(),
                     nowMicroseconds: nowMicroseconds) { decisions, _ in completion(decisions) }
    }

    /// Decides `costs` in one script call that also gives back and asks for what `terms` say; the lease granted
    /// comes with the decisions.
    static func acquire(
        on client: RedisClient,
        bucket: String,
        limits: RateLimits,
        costs: [Int],
        terms: RateLimitLease.Terms,
        nowMicroseconds: Int64?,
        completion: @escaping @Sendable ([Result<RateLimitDecision, RateLimitError>], RateLimitLease.Grant?) -> Void
    ) {
        guard !limits.isUnlimited else {
            completion(Array(repeating: .success(.unlimited), count: costs.count), nil)
            return
        }
        let evalSHA = acquireEvalSHA(bucket: bucket, limits: limits, costs: costs, terms: terms,
                                     nowMicroseconds: nowMicroseconds)
        let count = costs.count
        client.evalScript(acquireScript, evalSHA: evalSHA) { result in
            let (decided, grant) = decisions(from: result, limits: limits, count: count)
            completion(decided, grant)
        }
    }

    /// Sends what a loop's lease book gives back for `bucket` on its own, at once (a give-back is rare: once a lease's
    /// lifetime, and when a worker drains). A lost give-back leaves the bucket charged for what was not used, until
    /// its TAT passes.
    static func giveBack(
        bucket: String, limits: RateLimits, terms: RateLimitLease.Terms, on client: RedisClient, _ logger: Logger
    ) {
        let evalSHA = acquireEvalSHA(bucket: bucket, limits: limits, costs: [], terms: terms, nowMicroseconds: nil)
        client.evalScript(acquireScript, evalSHA: evalSHA) { result in
            if case .failure(let error) = result {
                logger.debug("rate limit lease give-back dropped", metadata: ["ratelimit.error": "\(error)"])
            }
        }
    }

    /// The acquire script's `EVALSHA` for requests of one bucket with token costs `costs`, giving back and asking
    /// for what `terms` say; limits not unlimited.
    static func acquireEvalSHA(
        bucket: String, limits: RateLimits, costs: [Int], terms: RateLimitLease.Terms = .init(),
        nowMicroseconds: Int64?
    ) -> [RESPArgument] {
        var args: [RESPArgument] = []
        args.reserveCapacity(8 + costs.count)
        args.append(.decimal(limits.requestsPerMinute))
        args.append(.decimal(limits.tokensPerMinute))
        args.append(.decimal(Int(GCRA.periodMicroseconds)))
        args.append(nowMicroseconds.map { .decimal(Int($0)) } ?? .bytes([]))
        args.append(.decimal(max(0, terms.wantRequests)))
        args.append(.decimal(max(0, terms.wantTokens)))
        args.append(.decimal(max(0, terms.returnedRequests)))
        args.append(.decimal(terms.tokenDelta))
        for cost in costs { args.append(.decimal(max(0, cost))) }
        return RedisClient.evalSHACommand(
            acquireScript, keys: [.text(requestKey(bucket: bucket)), .text(tokenKey(bucket: bucket))], args: args)
    }

    /// Reads the acquire script's reply for `count` requests and the lease after them; a failure or a malformed
    /// reply fails them all (and grants nothing).
    static func decisions(from result: Result<RedisReply, RedisError>, limits: RateLimits, count: Int)
        -> ([Result<RateLimitDecision, RateLimitError>], RateLimitLease.Grant?)
    {
        let fields: [RedisReply]
        switch Self.mapFailure(result) {
        case .failure(let error):
            return (Array(repeating: .failure(error), count: count), nil)
        case .success(let reply):
            guard case .array(let array) = reply, array.count == 6 * count + 4 else {
                return (Array(repeating: .failure(Self.invalid(reply)), count: count), nil)
            }
            fields = array
        }
        var decisions: [Result<RateLimitDecision, RateLimitError>] = []
        decisions.reserveCapacity(count)
        func integer(_ index: Int) -> Int? {
            if case .integer(let value) = fields[index] { return value }
            return nil
        }
        let malformed = (Array(repeating: Result<RateLimitDecision, RateLimitError>.failure(
            .invalidReply("unexpected reply shape")), count: count), RateLimitLease.Grant?.none)
        let leaseStart = 6 * count
        guard let leasedRequests = integer(leaseStart), let leasedTokens = integer(leaseStart + 1),
            let requestTAT = integer(leaseStart + 2), let tokenTAT = integer(leaseStart + 3)
        else { return malformed }
        for start in stride(from: 0, to: leaseStart, by: 6) {
            guard let allowed = integer(start), let requestsRemaining = integer(start + 1),
                let requestsReset = integer(start + 2), let tokensRemaining = integer(start + 3),
                let tokensReset = integer(start + 4), let retryAfter = integer(start + 5)
            else {
                return malformed
            }
            decisions.append(.success(RateLimitDecision(
                allowed: allowed == 1,
                limits: limits,
                requestsRemaining: requestsRemaining,
                requestsResetMicroseconds: Int64(requestsReset),
                tokensRemaining: tokensRemaining,
                tokensResetMicroseconds: Int64(tokensReset),
                retryAfterMicroseconds: Int64(retryAfter)
            )))
        }
        let grant = RateLimitLease.Grant(requests: leasedRequests, tokens: leasedTokens,
                                             requestTAT: Int64(requestTAT), tokenTAT: Int64(tokenTAT))
        return (decisions, grant)
    }

    /// `correct` with a completion and an optional explicit clock.
    func correct(
        bucket: String,
        limits: RateLimits,
        deltaTokens: Int,
        nowMicroseconds: Int64?,
        completion: @escaping @Sendable (Result<Void, RateLimitError>) -> Void
    ) {
        guard limits.tokensPerMinute > 0, deltaTokens != 0 else {
            completion(.success(()))
            return
        }
        let args = [
            String(limits.tokensPerMinute), String(deltaTokens), String(GCRA.periodMicroseconds),
            nowMicroseconds.map { String($0) } ?? "",
        ]
        // The request has been answered: the correction can leave with the connection's next write.
        self.client.evalScript(Self.correctScript, keys: [Self.tokenKey(bucket: bucket)], args: args,
                               canWait: true) { result in
            completion(
                Self.mapFailure(result).flatMap { reply in
                    if case .integer = reply { return .success(()) }
                    return .failure(Self.invalid(reply))
                }
            )
        }
    }

    // MARK: - Errors

    private static func mapFailure(_ result: Result<RedisReply, RedisError>) -> Result<RedisReply, RateLimitError> {
        result.mapError(rateLimitError)
    }

    /// A transport failure as the limiter reports it.
    static func rateLimitError(_ error: RedisError) -> RateLimitError {
        switch error {
        case .unavailable, .overloaded: return .unavailable("\(error)")
        case .invalidCommand, .server, .unexpectedReply: return .invalidReply("\(error)")
        }
    }

    private static func invalid(_ reply: RedisReply) -> RateLimitError {
        if let message = reply.errorMessage { return .invalidReply("script error: \(message)") }
        return .invalidReply("unexpected reply shape")
    }
}
