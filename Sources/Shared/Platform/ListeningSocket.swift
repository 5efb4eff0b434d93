#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Why a listening socket could not be opened.
public struct ListenError: Error, CustomStringConvertible {
    public let host: String
    public let port: Int
    public let operation: String
    public let code: Int32
    /// Set for resolver failures (`gai_strerror`), which have no errno.
    public var reason: String?

    public var addressInUse: Bool { code == EADDRINUSE }

    public var description: String {
        if addressInUse { return "\(host):\(port) is already in use" }
        return "cannot \(operation) \(host):\(port): \(reason ?? String(cString: strerror(code)))"
    }
}

/// Opens TCP listening sockets: the master's, one per worker slot, and a worker's own when it runs alone.
public enum ListeningSocket {
    /// A CLOEXEC socket listening on `host`:`port` (`SO_REUSEADDR`; `SO_REUSEPORT` too when `reusePort`), and the
    /// port it is bound to (the kernel's choice when `port` is 0).
    public static func open(host: String, port: Int, backlog: Int32,
                            reusePort: Bool) throws(ListenError) -> (descriptor: Int32, port: Int) {
        let (family, address) = try resolve(host: host, port: port)
        let fd = socket(family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw ListenError(host: host, port: port, operation: "create a socket for", code: errno) }
        func fail(_ operation: String) -> ListenError {
            let error = ListenError(host: host, port: port, operation: operation, code: errno)
            _ = close(fd)
            return error
        }
        var on: Int32 = 1
        guard setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, socklen_t(MemoryLayout<Int32>.size)) == 0 else {
            throw fail("set SO_REUSEADDR on")
        }
        if reusePort, setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on, socklen_t(MemoryLayout<Int32>.size)) != 0 {
            throw fail("set SO_REUSEPORT on")
        }
        let bound = address.withUnsafeBytes {
            bind(fd, $0.baseAddress!.assumingMemoryBound(to: sockaddr.self), socklen_t($0.count))
        }
        guard bound == 0 else { throw fail("bind") }
        guard listen(fd, backlog) == 0 else { throw fail("listen on") }
        guard let boundPort = boundPort(of: fd) else { throw fail("read the address of") }
        return (fd, boundPort)
    }

    /// Throws when `host`:`port` cannot be bound by a plain socket, as when another process listens there: with
    /// `SO_REUSEPORT` a second gateway of the same user would silently share the port instead.
    public static func probe(host: String, port: Int) throws(ListenError) {
        let (family, address) = try resolve(host: host, port: port)
        let fd = socket(family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw ListenError(host: host, port: port, operation: "create a socket for", code: errno) }
        defer { _ = close(fd) }
        var on: Int32 = 1
        _ = setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, socklen_t(MemoryLayout<Int32>.size))
        let status = address.withUnsafeBytes {
            bind(fd, $0.baseAddress!.assumingMemoryBound(to: sockaddr.self), socklen_t($0.count))
        }
        if status != 0 { throw ListenError(host: host, port: port, operation: "bind", code: errno) }
    }

    /// The port a socket is bound to; nil when it cannot be read.
    public static func boundPort(of fd: Int32) -> Int? {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let named = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        guard named == 0 else { return nil }
        let family = Int32(storage.ss_family)
        return withUnsafePointer(to: &storage) { pointer in
            switch family {
            case AF_INET6:
                pointer.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) {
                    Int(UInt16(bigEndian: $0.pointee.sin6_port))
                }
            case AF_INET:
                pointer.withMemoryRebound(to: sockaddr_in.self, capacity: 1) {
                    Int(UInt16(bigEndian: $0.pointee.sin_port))
                }
            default:
                nil
            }
        }
    }

    private static func resolve(host: String, port: Int) throws(ListenError) -> (family: Int32, address: [UInt8]) {
        var hints = addrinfo()
        hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var result: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(host, String(port), &hints, &result)
        guard status == 0, let first = result else {
            throw ListenError(host: host, port: port, operation: "resolve", code: EADDRNOTAVAIL,
                              reason: String(cString: gai_strerror(status)))
        }
        defer { freeaddrinfo(result) }
        let bytes = UnsafeRawBufferPointer(start: first.pointee.ai_addr, count: Int(first.pointee.ai_addrlen))
        return (first.pointee.ai_family, Array(bytes))
    }
}
