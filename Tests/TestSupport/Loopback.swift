import Glibc

/// Sockets on 127.0.0.1 for the tests' own clients and listeners: every server a test talks to is on loopback.
public enum Loopback {
    /// 127.0.0.1:`port` (0: any free port, for `bind`).
    public static func address(port: Int) -> sockaddr_in {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
        return address
    }

    /// Connects `fd` to 127.0.0.1:`port`: `connect`'s result (0, or -1 with `errno` set; -1 with `EINPROGRESS` for
    /// a non-blocking socket).
    @discardableResult
    public static func connect(_ fd: Int32, port: Int) -> Int32 {
        var address = address(port: port)
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
    }

    /// Binds `fd` to a free loopback port and listens with `backlog`: the port, or nil when a call fails.
    public static func listen(_ fd: Int32, backlog: Int32) -> Int? {
        var address = address(port: 0)
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, length) == 0 && Glibc.listen(fd, backlog) == 0 && getsockname(fd, $0, &length) == 0
            }
        }
        return bound ? Int(UInt16(bigEndian: address.sin_port)) : nil
    }
}
