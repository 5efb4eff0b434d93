#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import NIOCore

/// The socket options every client connection has: `TCP_NODELAY` (a response's small writes leave at once instead
/// of waiting for the client's delayed ACK) and `SO_KEEPALIVE` (a peer that vanished without a FIN is found).
///
/// They are set on the listening socket, once: Linux makes an accepted socket as a copy of its listener, options
/// included, so every connection starts with them. Set per connection they cost two `setsockopt` calls and NIO's
/// option futures: about 30,000 of the 180,000 instructions a new connection added (BENCHMARKS.md, "Twenty-sixth
/// round"). A worker sets them on the socket it listens on (`AcceptThread`), also one it inherits, so it never
/// depends on what the master did.
enum ClientSocketOptions {
    private static let options: [(level: CInt, name: CInt)] = [
        (CInt(IPPROTO_TCP), CInt(TCP_NODELAY)),
        (SOL_SOCKET, SO_KEEPALIVE),
    ]

    /// Sets the options on a listening socket, so that the connections it accepts inherit them.
    static func set(on listener: CInt) throws {
        var on: CInt = 1
        for option in options
        where setsockopt(listener, option.level, option.name, &on, socklen_t(MemoryLayout<CInt>.size)) != 0 {
            throw IOError(errnoCode: errno, reason: "setsockopt on the listening socket")
        }
    }
}
