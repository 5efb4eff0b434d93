/// Where and how to connect to Redis, parsed from `redis://[[user]:password@]host[:port][/db]`.
public struct RedisURL: Sendable, Equatable, CustomStringConvertible {
    /// The default Redis port.
    public static let defaultPort = 6379

    /// Host name or IP address (IPv6 without brackets).
    public var host: String
    /// TCP port.
    public var port: Int
    /// Database index sent with `SELECT` when not 0.
    public var database: Int
    /// ACL user name (Redis 6+); `nil` means `AUTH password` alone.
    public var username: String?
    /// Password for `AUTH`; `nil` means no `AUTH`.
    public var password: String?

    /// Creates a URL from its parts.
    public init(
        host: String,
        port: Int = RedisURL.defaultPort,
        database: Int = 0,
        username: String? = nil,
        password: String? = nil
    ) {
        self.host = host
        self.port = port
        self.database = database
        self.username = username
        self.password = password
    }

    /// Parses `redis://[[user]:password@]host[:port][/db]`; `rediss://` is rejected (no TLS in hiredis 0.14).
    public init(parsing text: String) throws(RedisURLError) {
        guard let colon = text.firstIndex(of: ":"), text[colon...].hasPrefix("://") else {
            throw .unsupportedScheme(text.isEmpty ? "(empty)" : "(none)")
        }
        let scheme = text[..<colon].lowercased()
        switch scheme {
        case "redis": break
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
        var hostPort = rest
        if let at = rest.lastIndex(of: "@") {
            let userInfo = rest[..<at]
            hostPort = rest[rest.index(after: at)...]
            guard let colon = userInfo.firstIndex(of: ":") else {
                throw .invalidAuthority("expected ':password@' or 'user:password@' before the host")
            }
            let user = try Self.percentDecoded(userInfo[..<colon])
            self.username = user.isEmpty ? nil : user
            self.password = try Self.percentDecoded(userInfo[userInfo.index(after: colon)...])
        } else {
            self.username = nil
            self.password = nil
        }

        (self.host, self.port) = try Self.parseHostPort(hostPort)
        self.database = try Self.parseDatabase(path)
    }

    /// The URL with the password replaced by `***`, safe to log.
    public var description: String {
        var credentials = ""
        if self.password != nil {
            credentials = "\(self.username ?? ""):***@"
        }
        let host = self.host.contains(":") ? "[\(self.host)]" : self.host
        return "redis://\(credentials)\(host):\(self.port)/\(self.database)"
    }

    // MARK: - Parsing helpers

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
