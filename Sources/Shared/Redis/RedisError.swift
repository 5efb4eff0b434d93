/// Why a Redis command did not produce a reply.
public enum RedisError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Not connected, the connection broke, or the reply did not come within the timeout.
    case unavailable(String)
    /// The client's queue is full; the command was not sent.
    case overloaded
    /// The command is malformed (for example it has no arguments).
    case invalidCommand(String)
    /// Redis answered with an error reply where a value was required.
    case server(String)
    /// Redis answered with a reply of an unexpected shape.
    case unexpectedReply(String)

    public var description: String {
        switch self {
        case .unavailable(let reason): return "redis unavailable: \(reason)"
        case .overloaded: return "redis client queue full"
        case .invalidCommand(let reason): return "invalid redis command: \(reason)"
        case .server(let message): return "redis error reply: \(message)"
        case .unexpectedReply(let what): return "unexpected redis reply: \(what)"
        }
    }
}
