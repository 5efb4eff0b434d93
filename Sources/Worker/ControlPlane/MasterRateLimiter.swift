import NIOCore
import NIOPosix
import Shared

/// Embedded mode under a master (no Redis): the node-wide limiter lives in the master, asked over the control
/// channel, so a key gets its limit once per node, not once per worker.
///
/// With leases on (`leaseRequests` > 0), a loop whose requests ask one key often takes a share of its allowance from
/// the master ahead of need (`RateLimitLease`, kept in the loop's `RateLimitLeaseBook`) and admits the next requests
/// from it without asking; the master grants and takes leases back by the same steps as the Redis script.
final class MasterRateLimiter: RateLimiting {
    private let link: ControlLink
    /// Where an acquire asked off the worker's loops is answered.
    private let loop: EventLoop
    /// One per worker loop; none when leases are off.
    private let leaseBooks: [RateLimitLeaseBook]

    /// `loops`: the worker's event loops, each keeping its own leases (none when `leaseRequests` is 0).
    init(link: ControlLink, loop: EventLoop, loops: [EventLoop] = [], leaseRequests: Int = 0) {
        self.link = link
        self.loop = loop
        self.leaseBooks = leaseRequests <= 0 ? [] : loops.map { loop in
            RateLimitLeaseBook(loop: loop, maxRequests: leaseRequests) { bucket, limits, terms in
                link.send(.rateLimitCorrect(bucket: bucket, requestsPerMinute: limits.requestsPerMinute,
                                            tokensPerMinute: limits.tokensPerMinute, deltaTokens: terms.tokenDelta,
                                            returnedRequests: terms.returnedRequests))
            }
        }
    }

    var leaseAdmissions: Int { leaseBooks.admittedFromLeases }

    func handBackLeases(on loop: EventLoop) -> EventLoopFuture<Void> { leaseBooks.handBack(completingOn: loop) }

    func acquire(bucket: String, limits: RateLimits, tokens: Int,
                 completion: @escaping @Sendable (Result<RateLimitDecision, RateLimitError>) -> Void) {
        guard !limits.isUnlimited, let leases = leaseBooks.ofCurrentLoop else {
            ask(bucket: bucket, limits: limits, tokens: tokens, lease: .init(), on: loop) { answer in
                completion(answer.map(\.decision))
            }
            return
        }
        let now = LocalRateLimiter.monotonicMicroseconds()
        if let decision = leases.admit(bucket: bucket, limits: limits, tokens: tokens, now: now) {
            completion(.success(decision))
            return
        }
        let terms = leases.terms(bucket: bucket, limits: limits, now: now)
        // Answered on this loop, where the book lives.
        ask(bucket: bucket, limits: limits, tokens: tokens, lease: terms, on: leases.loop) { answer in
            if terms.wantRequests > 0 {
                leases.granted(bucket: bucket, limits: limits, (try? answer.get())?.grant,
                               now: LocalRateLimiter.monotonicMicroseconds())
            }
            completion(answer.map(\.decision))
        }
    }

    func correct(bucket: String, limits: RateLimits, deltaTokens: Int) {
        guard limits.tokensPerMinute > 0, deltaTokens != 0 else { return }
        if let leases = leaseBooks.ofCurrentLoop, leases.correct(bucket: bucket, limits: limits, deltaTokens: deltaTokens) {
            return
        }
        link.send(.rateLimitCorrect(bucket: bucket, requestsPerMinute: limits.requestsPerMinute,
                                    tokensPerMinute: limits.tokensPerMinute, deltaTokens: deltaTokens))
    }

    private func ask(
        bucket: String, limits: RateLimits, tokens: Int, lease: RateLimitLease.Terms, on loop: EventLoop,
        completion: @escaping @Sendable (Result<ControlLink.RateLimitAnswer, RateLimitError>) -> Void
    ) {
        link.acquire(bucket: bucket, requestsPerMinute: limits.requestsPerMinute,
                     tokensPerMinute: limits.tokensPerMinute, tokens: tokens, lease: lease, on: loop)
            .whenComplete { result in
                completion(result.mapError { .unavailable("master unreachable: \($0)") })
            }
    }
}
