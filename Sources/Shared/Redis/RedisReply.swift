/// One RESP2 reply from Redis.
public enum RedisReply: Sendable, Equatable {
    /// A simple string such as `OK` or `PONG`.
    case status(String)
    /// An error reply (`-ERR …`, `-NOSCRIPT …`); the command ran or was rejected, the connection is fine.
    case error(String)
    /// An integer reply.
    case integer(Int)
    /// A bulk string, binary-safe.
    case bulk([UInt8])
    /// A nil bulk string or nil array.
    case null
    /// A multi-bulk reply.
    case array([RedisReply])

    /// The reply as text when it is a status or a bulk string.
    public var string: String? {
        switch self {
        case .status(let text): return text
        case .bulk(let bytes): return String(decoding: bytes, as: UTF8.self)
        default: return nil
        }
    }

    /// The reply as an integer when it is an integer, or a bulk string holding one.
    public var int: Int? {
        switch self {
        case .integer(let value): return value
        case .bulk(let bytes): return Int(String(decoding: bytes, as: UTF8.self))
        default: return nil
        }
    }

    /// The error message when the reply is an error.
    public var errorMessage: String? {
        if case .error(let message) = self { return message }
        return nil
    }

    /// Whether this is Redis's answer to `EVALSHA` for a script it does not hold.
    public var isNoScript: Bool {
        self.errorMessage?.hasPrefix("NOSCRIPT") ?? false
    }
}
