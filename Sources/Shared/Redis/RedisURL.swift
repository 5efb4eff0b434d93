/// Where and how to connect to Redis, parsed from `redis://[[user]:password@]host[:port][/db]` or, for a Redis on
/// the same machine, `unix://[[user]:password@]/path/to/redis.sock[?db=N]`.
public struct RedisURL: Sendable, Equatable, CustomStringConvertible {
    /// The default Redis port.
    public static let defaultPort = 6379

    /// A TCP address or a Unix socket.
    public enum Endpoint: Sendable, Equatable {
        /// Host name or IP address (IPv6 without brackets) and TCP port.
        case tcp(host: String, port: Int)
        /// The path of a Unix domain socket (redis.conf's `unixsocket`): a co-located Redis without the TCP stack.
        case unixSocket(path: String)
    }

    /// Where the server listens.
    public var endpoint: Endpoint
    /// Database index sent with `SELECT` when not 0.
    public var database: Int
    /// ACL user name (Redis 6+); `nil` means `AUTH password` alone.
    public var username: String?
    /// Password for `AUTH`; `nil` means no `AUTH`.
    public var password: String?

    /// Creates a TCP URL from its parts.
    public init(
        host: String,
        port: Int = RedisURL.defaultPort,
        database: Int = 0,
        username: String? = nil,
        password: String? = nil
    ) {
        self.init(endpoint: .tcp(host: host, port: port), database: database, username: username, password: password)
    }

    /// Creates a URL from its parts.
    public init(endpoint: Endpoint, database: Int = 0, username: String? = nil, password: String? = nil) {
        self.endpoint = endpoint
        self.database = database
        self.username = username
        self.password = password
    }

    /// Parses `redis://[[user]:password@]host[:port][/db]` or `unix://[[user]:password@]/path[?db=N]`;
    /// `rediss://` is rejected (no TLS in hiredis 0.14).
    public init(parsing text: String) throws(RedisURLError) {
        guard let colon = text.firstIndex(of: ":"), text[colon...].hasPrefix("://") else {
            throw .unsupportedScheme(text.isEmpty ? "(empty)" : "(none)")
        }
        let scheme = text[..<colon].lowercased()
        switch scheme {
        case "redis": break
        case "unix":
            try self.init(parsingUnixSocket: text[colon...].dropFirst(3))
            return
        case "rediss": throw .tlsUnsupported
        default: throw .unsupportedScheme(scheme)
        }
        var rest = text[colon...].dropFirst(3)
        if let optionStart = rest.firstIndex(where: { $0 == "?" || $0 == "#" }) {
            throw .unsupportedOptions(String(rest[optionStart...]))
        }

        // The authority ends at the first '/', which a password therefore cannot contain unencoded.
        var path: Substring = ""
        if let slash = rest.firstIndex(of: "/") {
            path = rest[rest.index(after: slash)...]
            rest = rest[..<slash]
        }

        // The last '@' separates credentials, so an unencoded '@' inside a password still parses.
        let (credentials, hostPort) = try Self.splitCredentials(rest)
        let (host, port) = try Self.parseHostPort(hostPort)
        self.init(endpoint: .tcp(host: host, port: port), database: try Self.parseDatabase(path),
                  username: credentials?.username, password: credentials?.password)
    }

    /// The part after `unix://`: `[[user]:password@]/absolute/path[?db=N]`, the form redis-py and others read.
    private init(parsingUnixSocket text: Substring) throws(RedisURLError) {
        var rest = text
        if let fragment = rest.firstIndex(of: "#") {
            throw .unsupportedOptions(String(rest[fragment...]))
        }
        var database = 0
        if let query = rest.firstIndex(of: "?") {
            let option = rest[rest.index(after: query)...]
            guard option.hasPrefix("db=") else { throw .unsupportedOptions(String(rest[query...])) }
            database = try Self.parseDatabase(option.dropFirst(3))
            rest = rest[..<query]
        }
        // A socket path may hold an '@': credentials are only what comes before the leading '/' of the path, and
        // they end with an '@' right before it.
        var credentials: (username: String?, password: String)?
        var path = rest
        if !rest.hasPrefix("/"), let slash = rest.firstIndex(of: "/") {
            let (userInfo, between) = try Self.splitCredentials(rest[..<slash])
            guard userInfo != nil, between.isEmpty else { throw .invalidSocketPath(String(rest)) }
            credentials = userInfo
            path = rest[slash...]
        }
        guard path.hasPrefix("/"), path.count > 1 else { throw .invalidSocketPath(String(path)) }
        self.init(endpoint: .unixSocket(path: String(path)), database: database,
                  username: credentials?.username, password: credentials?.password)
    }

    /// The URL with the password replaced by `***`, safe to log.
    public var description: String {
        var credentials = ""
        if self.password != nil {
            credentials = "\(self.username ?? ""):***@"
        }
        switch self.endpoint {
        case .tcp(let host, let port):
            let host = host.contains(":") ? "[\(host)]" : host
            return "redis://\(credentials)\(host):\(port)/\(self.database)"
        case .unixSocket(let path):
            return "unix://\(credentials)\(path)?db=\(self.database)"
        }
    }

    // MARK: - Parsing helpers

    /// Splits `[[user]:password@]rest` at its last '@' (so an unencoded '@' inside a password still parses).
    private static func splitCredentials(_ text: Substring) throws(RedisURLError)
        -> ((username: String?, password: String)?, Substring)
    {
        guard let at = text.lastIndex(of: "@") else { return (nil, text) }
        let userInfo = text[..<at]
        guard let colon = userInfo.firstIndex(of: ":") else {
            throw .invalidAuthority("expected ':password@' or 'user:password@' before the host")
        }
        let user = try Self.percentDecoded(userInfo[..<colon])
        let password = try Self.percentDecoded(userInfo[userInfo.index(after: colon)...])
        return ((user.isEmpty ? nil : user, password), text[text.index(after: at)...])
    }

    private static func parseHostPort(_ text: Substring) throws(RedisURLError) -> (String, Int) {
        var host: Substring
        var portText: Substring?
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else {
                throw .invalidAuthority("IPv6 host is missing its closing ']'")
            }
            host = text[text.index(after: text.startIndex)..<close]
            let after = text[text.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":") else { throw .invalidAuthority("unexpected text after ']'") }
                portText = after.dropFirst()
            }
        } else if let colon = text.lastIndex(of: ":") {
            host = text[..<colon]
            portText = text[text.index(after: colon)...]
        } else {
            host = text
        }
        guard !host.isEmpty else { throw .missingHost }
        var port = Self.defaultPort
        if let portText {
            guard Self.isDigits(portText), let value = Int(portText), (1...65_535).contains(value) else {
                throw .invalidPort(String(portText))
            }
            port = value
        }
        return (String(host), port)
    }

    private static func parseDatabase(_ path: Substring) throws(RedisURLError) -> Int {
        guard !path.isEmpty else { return 0 }
        guard Self.isDigits(path), let value = Int(path) else {
            throw .invalidDatabase(String(path))
        }
        return value
    }

    private static func isDigits(_ text: Substring) -> Bool {
        !text.isEmpty && text.utf8.allSatisfy { $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }
    }

    private static func percentDecoded(_ text: Substring) throws(RedisURLError) -> String {
        var bytes = [UInt8]()
        var utf8 = Array(text.utf8)[...]
        while let byte = utf8.popFirst() {
            guard byte == UInt8(ascii: "%") else {
                bytes.append(byte)
                continue
            }
            guard utf8.count >= 2,
                let value = UInt8(String(decoding: utf8.prefix(2), as: UTF8.self), radix: 16)
            else {
                throw .invalidPercentEncoding
            }
            bytes.append(value)
            utf8 = utf8.dropFirst(2)
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
