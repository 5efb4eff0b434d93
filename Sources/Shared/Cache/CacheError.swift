/// Why a cache lookup failed; callers bypass the cache rather than fail the request.
public enum CacheError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The store (Redis) could not be reached in time.
    case unavailable(String)
    /// The store answered with an error or a reply of the wrong shape.
    case invalidReply(String)

    public var description: String {
        switch self {
        case .unavailable(let reason): return "cache unavailable: \(reason)"
        case .invalidReply(let what): return "cache got an invalid reply: \(what)"
        }
    }
}
