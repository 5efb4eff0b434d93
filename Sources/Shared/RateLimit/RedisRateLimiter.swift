import Logging

/// A fleet-wide `RateLimiting` whose state lives in Redis: the `GCRA` math in one Lua script per
/// request, run atomically with `EVALSHA` on Redis server time.
///
/// Keys are `cgw:rl:{<bucket>}:req` and `cgw:rl:{<bucket>}:tok`, holding TATs in microseconds with a
/// `PX` expiry so idle buckets vanish. The braces are a Redis Cluster hash tag: both keys of a bucket
/// land in the same slot, which a multi-key script requires.
public final class RedisRateLimiter: RateLimiting {
    private let client: RedisClient
    private let logger: Logger

    /// Creates a limiter on `client` and registers its scripts so every (re)connect loads them.
    public init(client: RedisClient, logger: Logger) {
        self.client = client
        self.logger = logger
        client.register(Self.acquireScript)
        client.register(Self.correctScript)
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
        self.acquire(bucket: bucket, limits: limits, tokens: tokens, nowMicroseconds: nil, completion: completion)
    }

    public func correct(bucket: String, limits: RateLimits, deltaTokens: Int) {
        let logger = self.logger
        self.correct(bucket: bucket, limits: limits, deltaTokens: deltaTokens, nowMicroseconds: nil) { result in
            if case .failure(let error) = result {
                // Best effort: a lost correction only skews one bucket until its TAT passes.
                logger.debug("rate limit correction dropped", metadata: ["ratelimit.error": "\(error)"])
            }
        }
    }

    // MARK: - With an explicit clock

    /// `acquire` with `nowMicroseconds` replacing Redis `TIME` when given (tests compare against `GCRA`).
    func acquire(
        bucket: String,
        limits: RateLimits,
        tokens: Int,
        nowMicroseconds: Int64?,
        completion: @escaping @Sendable (Result<RateLimitDecision, RateLimitError>) -> Void
    ) {
        guard let evalSHA = self.acquireEvalSHA(
            bucket: bucket, limits: limits, tokens: tokens, nowMicroseconds: nowMicroseconds)
        else {
            completion(.success(.unlimited))
            return
        }
        self.client.evalScript(Self.acquireScript, evalSHA: evalSHA) { result in
            completion(Self.decision(from: result, limits: limits))
        }
    }

    /// The acquire script's `EVALSHA` for one request, for pipelining it with other commands (see
    /// `RedisClient.evalSHACommand`); nil when `limits` limit nothing, which needs no round trip (the decision is
    /// `.unlimited`). Its numbers are written in place (`RESPArgument.decimal`): it is built for every request.
    public func acquireEvalSHA(bucket: String, limits: RateLimits, tokens: Int) -> [RESPArgument]? {
        self.acquireEvalSHA(bucket: bucket, limits: limits, tokens: tokens, nowMicroseconds: nil)
    }

    /// `acquireEvalSHA` with `nowMicroseconds` replacing Redis `TIME` when given.
    func acquireEvalSHA(bucket: String, limits: RateLimits, tokens: Int, nowMicroseconds: Int64?)
        -> [RESPArgument]?
    {
        guard !limits.isUnlimited else { return nil }
        let args: [RESPArgument] = [
            .decimal(limits.requestsPerMinute), .decimal(limits.tokensPerMinute), .decimal(max(0, tokens)),
            .decimal(Int(GCRA.periodMicroseconds)), nowMicroseconds.map { .decimal(Int($0)) } ?? .bytes([]),
        ]
        return RedisClient.evalSHACommand(
            Self.acquireScript, keys: [.text(Self.requestKey(bucket: bucket)), .text(Self.tokenKey(bucket: bucket))],
            args: args)
    }

    /// Reads the acquire script's reply.
    public static func decision(from result: Result<RedisReply, RedisError>, limits: RateLimits)
        -> Result<RateLimitDecision, RateLimitError>
    {
        Self.mapFailure(result).flatMap { reply in
            guard case .array(let fields) = reply, fields.count == 6 else {
                return .failure(Self.invalid(reply))
            }
            let values = fields.compactMap { field -> Int? in
                if case .integer(let value) = field { return value }
                return nil
            }
            guard values.count == 6 else { return .failure(Self.invalid(reply)) }
            return .success(
                RateLimitDecision(
                    allowed: values[0] == 1,
                    limits: limits,
                    requestsRemaining: values[1],
                    requestsResetMicroseconds: Int64(values[2]),
                    tokensRemaining: values[3],
                    tokensResetMicroseconds: Int64(values[4]),
                    retryAfterMicroseconds: Int64(values[5])
                )
            )
        }
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
        self.client.evalScript(Self.correctScript, keys: [Self.tokenKey(bucket: bucket)], args: args) { result in
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
        result.mapError { error in
            switch error {
            case .unavailable, .overloaded: return .unavailable("\(error)")
            case .invalidCommand, .server, .unexpectedReply: return .invalidReply("\(error)")
            }
        }
    }

    private static func invalid(_ reply: RedisReply) -> RateLimitError {
        if let message = reply.errorMessage { return .invalidReply("script error: \(message)") }
        return .invalidReply("unexpected reply shape")
    }
}
