import Logging
import NIOCore
import Shared

/// The worker's rate limiter and response cache: Redis-backed when `REDIS_URL` is set (fleet-wide), otherwise
/// the embedded default (limits held by the master for the whole node, cache in this worker's memory).
struct ControlPlane: Sendable {
    let rateLimiter: RateLimiting?
    let cache: ResponseCacheStore?
    let redis: RedisClient?

    /// `loops`: the worker's event loops; with Redis each gets its own connection, so a request's commands are
    /// written and answered on the request's own loop.
    static func make(config: GatewayConfig, control: ControlLink?, loops: [EventLoop], logger: Logger) -> ControlPlane {
        let loop = loops[0]
        let redis = config.redisURL.map {
            RedisClient(configuration: .init(url: $0, timeoutMilliseconds: config.redisTimeoutMs), logger: logger,
                        eventLoops: loops)
        }
        var limiter: RateLimiting?
        if config.rateLimitEnabled {
            if let redis {
                limiter = RedisRateLimiter(client: redis, logger: logger, leaseRequests: config.rateLimitLease)
            } else if let control {
                limiter = MasterRateLimiter(link: control, loop: loop, loops: loops, leaseRequests: config.rateLimitLease)
            } else {
                // A worker alone (single-process use) is the whole node.
                limiter = LocalRateLimiter()
            }
        }
        var cache: ResponseCacheStore?
        if config.cacheEnabled {
            if let redis {
                cache = RedisCacheStore(client: redis, maxEntryBytes: config.cacheMaxEntryBytes, logger: logger)
            } else {
                cache = MemoryCacheStore(maxBytes: config.cacheMaxBytes, maxEntryBytes: config.cacheMaxEntryBytes)
            }
        }
        return ControlPlane(rateLimiter: limiter, cache: cache, redis: redis)
    }
}
