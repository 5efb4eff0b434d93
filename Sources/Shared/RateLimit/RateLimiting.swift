import NIOCore

/// A per-bucket limiter of requests and tokens per minute, local or shared through Redis.
public protocol RateLimiting: Sendable {
    /// Admits the request if both one request and `tokens` fit; charges both only when admitting.
    func acquire(
        bucket: String,
        limits: RateLimits,
        tokens: Int,
        completion: @escaping @Sendable (Result<RateLimitDecision, RateLimitError>) -> Void
    )

    /// Adjusts the token charge by `deltaTokens` (actual minus estimated) once real usage is known.
    func correct(bucket: String, limits: RateLimits, deltaTokens: Int)

    /// Requests admitted so far from this process's leases (`RateLimitLease`) without asking the limit's keeper.
    var leaseAdmissions: Int { get }

    /// Gives back every lease this process holds, with the token corrections gathered for them (a draining
    /// worker); the future completes once the give-backs are sent. Call from any thread.
    func handBackLeases(on loop: EventLoop) -> EventLoopFuture<Void>
}

extension RateLimiting {
    public var leaseAdmissions: Int { 0 }

    public func handBackLeases(on loop: EventLoop) -> EventLoopFuture<Void> { loop.makeSucceededVoidFuture() }
}
