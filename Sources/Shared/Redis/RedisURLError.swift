/// Why a `REDIS_URL` value could not be used.
public enum RedisURLError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The scheme is neither `redis://` nor `rediss://`.
    case unsupportedScheme(String)
    /// `rediss://` (TLS) was asked for, which hiredis 0.14 cannot speak.
    case tlsUnsupported
    /// No host between `redis://` and the port or path.
    case missingHost
    /// A `user@` without `:password`, or a bracketed IPv6 host that is not closed.
    case invalidAuthority(String)
    /// The port is not a number in 1...65535.
    case invalidPort(String)
    /// The database (`/N`, or `?db=N` after a socket path) is not a non-negative number.
    case invalidDatabase(String)
    /// Query strings and fragments carry options this client does not support.
    case unsupportedOptions(String)
    /// A percent-encoded user name or password is malformed.
    case invalidPercentEncoding
    /// A `unix://` URL whose socket path is not absolute.
    case invalidSocketPath(String)

    public var description: String {
        switch self {
        case .unsupportedScheme(let scheme):
            return "unsupported Redis URL scheme '\(scheme)': expected redis://[[user]:password@]host[:port][/db] "
                + "or unix://[[user]:password@]/path/to/redis.sock[?db=N]"
        case .tlsUnsupported:
            return "rediss:// (TLS) is not supported: hiredis 0.14 has no TLS; "
                + "put a TLS-terminating sidecar (stunnel, envoy) next to the gateway and use redis:// to it"
        case .missingHost:
            return "Redis URL has no host"
        case .invalidAuthority(let reason):
            return "invalid Redis URL credentials or host: \(reason)"
        case .invalidPort(let port):
            return "invalid Redis port '\(port)': expected 1-65535"
        case .invalidDatabase(let path):
            return "invalid Redis database '\(path)': expected a non-negative integer "
                + "(redis://host/N, unix:///path?db=N)"
        case .unsupportedOptions(let options):
            return "Redis URL options are not supported: '\(options)'"
        case .invalidPercentEncoding:
            return "Redis URL user name or password has invalid percent-encoding"
        case .invalidSocketPath(let path):
            return "invalid Redis socket path '\(path)': expected unix://[[user]:password@]/absolute/path[?db=N]"
        }
    }
}
