import NIOCore
import NIOPosix
import Shared

/// Embedded mode under a master (no Redis): the node-wide limiter lives in the master, asked over the control
/// channel, so a key gets its limit once per node, not once per worker.
struct MasterRateLimiter: RateLimiting {
    let link: ControlLink
    let loop: EventLoop

    func acquire(bucket: String, limits: RateLimits, tokens: Int,
                 completion: @escaping @Sendable (Result<RateLimitDecision, RateLimitError>) -> Void) {
        link.acquire(bucket: bucket, requestsPerMinute: limits.requestsPerMinute,
                     tokensPerMinute: limits.tokensPerMinute, tokens: tokens, on: loop)
            .whenComplete { result in
                switch result {
                case .success(let decision): completion(.success(decision))
                case .failure(let error): completion(.failure(.unavailable("master unreachable: \(error)")))
                }
            }
    }

    func correct(bucket: String, limits: RateLimits, deltaTokens: Int) {
        link.send(.rateLimitCorrect(bucket: bucket, requestsPerMinute: limits.requestsPerMinute,
                                    tokensPerMinute: limits.tokensPerMinute, deltaTokens: deltaTokens))
    }
}
