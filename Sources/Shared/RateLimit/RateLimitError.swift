/// Why a limiter could not decide; the caller fails open or closed as configured.
public enum RateLimitError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The shared store (Redis) could not be reached in time.
    case unavailable(String)
    /// The store answered with an error or a reply of the wrong shape.
    case invalidReply(String)

    public var description: String {
        switch self {
        case .unavailable(let reason): return "rate limiter unavailable: \(reason)"
        case .invalidReply(let what): return "rate limiter got an invalid reply: \(what)"
        }
    }
}
