import Glibc

/// Why a listening socket could not be opened.
struct ListenError: Error, CustomStringConvertible {
    let host: String
    let port: Int
    let operation: String
    let code: Int32
    /// Set for resolver failures (`gai_strerror`), which have no errno.
    var reason: String?

    var addressInUse: Bool { code == EADDRINUSE }

    var description: String {
        if addressInUse { return "\(host):\(port) is already in use" }
        return "cannot \(operation) \(host):\(port): \(reason ?? String(cString: strerror(code)))"
    }
}

/// One SO_REUSEPORT listening socket per worker slot, all on the same address, owned by the master for its whole
/// life.
///
/// The kernel spreads new connections evenly over SO_REUSEPORT sockets. Because the master keeps every slot's
/// socket open, connections queued on it survive the death or replacement of the slot's worker: the next worker
/// in that slot accepts them. During a reload the old and the new worker of a slot share the same socket.
final class SlotListeners {
    let host: String
    /// The port every slot is bound to (the kernel's choice when the configured port was 0).
    private(set) var port: Int
    private var descriptors: [Int: Int32] = [:]
    private let backlog: Int32

    /// Opens the first `count` slots. With port 0, slot 0 gets a free port and the others join it.
    init(host: String, port: Int, count: Int, backlog: Int32 = 1024) throws(ListenError) {
        self.host = host
        self.port = port
        self.backlog = backlog
        if port != 0 {
            // SO_REUSEPORT lets a second gateway of the same user silently share the port; a plain bind first
            // turns "someone is listening here" into a clear error instead.
            try Self.probe(host: host, port: port)
        }
        do {
            for slot in 0..<count { _ = try descriptor(for: slot) }
        } catch {
            closeAll()
            throw error
        }
    }

    deinit { closeAll() }

    /// The slot's listening socket, opened on first use (slots added by SIGTTIN or a reload).
    func descriptor(for slot: Int) throws(ListenError) -> Int32 {
        if let fd = descriptors[slot] { return fd }
        let (fd, boundPort) = try Self.open(host: host, port: port, backlog: backlog)
        if port == 0 { port = boundPort }
        descriptors[slot] = fd
        return fd
    }

    /// Closes a slot that is no longer configured (its last worker is gone).
    func close(slot: Int) {
        if let fd = descriptors.removeValue(forKey: slot) { _ = Glibc.close(fd) }
    }

    func closeAll() {
        for fd in descriptors.values { _ = Glibc.close(fd) }
        descriptors.removeAll()
    }

    var openSlots: [Int] { descriptors.keys.sorted() }

    // MARK: - Sockets

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

    private static func probe(host: String, port: Int) throws(ListenError) {
        let (family, address) = try resolve(host: host, port: port)
        let fd = socket(family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw ListenError(host: host, port: port, operation: "create a socket for", code: errno) }
        defer { _ = Glibc.close(fd) }
        var on: Int32 = 1
        _ = setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, socklen_t(MemoryLayout<Int32>.size))
        let status = address.withUnsafeBytes {
            bind(fd, $0.baseAddress!.assumingMemoryBound(to: sockaddr.self), socklen_t($0.count))
        }
        if status != 0 { throw ListenError(host: host, port: port, operation: "bind", code: errno) }
    }

    /// A CLOEXEC listening socket numbered 10 or above (so that moving it to fd 3 in a child never collides with
    /// the control channel's fd 4, whatever the order of the file actions).
    private static func open(host: String, port: Int, backlog: Int32) throws(ListenError) -> (Int32, Int) {
        let (family, address) = try resolve(host: host, port: port)
        let raw = socket(family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard raw >= 0 else { throw ListenError(host: host, port: port, operation: "create a socket for", code: errno) }
        let fd = moveAbove(raw)
        func fail(_ operation: String) -> ListenError {
            let error = ListenError(host: host, port: port, operation: operation, code: errno)
            _ = Glibc.close(fd)
            return error
        }
        var on: Int32 = 1
        guard setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, socklen_t(MemoryLayout<Int32>.size)) == 0,
            setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on, socklen_t(MemoryLayout<Int32>.size)) == 0
        else { throw fail("set SO_REUSEPORT on") }
        let bound = address.withUnsafeBytes {
            bind(fd, $0.baseAddress!.assumingMemoryBound(to: sockaddr.self), socklen_t($0.count))
        }
        guard bound == 0 else { throw fail("bind") }
        guard listen(fd, backlog) == 0 else { throw fail("listen on") }
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let named = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        guard named == 0 else { throw fail("read the address of") }
        let boundFamily = Int32(storage.ss_family)
        let boundPort: UInt16 = withUnsafePointer(to: &storage) { pointer in
            if boundFamily == AF_INET6 {
                return pointer.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) {
                    UInt16(bigEndian: $0.pointee.sin6_port)
                }
            }
            return pointer.withMemoryRebound(to: sockaddr_in.self, capacity: 1) {
                UInt16(bigEndian: $0.pointee.sin_port)
            }
        }
        return (fd, Int(boundPort))
    }

    /// Re-numbers `fd` to 10 or above, keeping CLOEXEC.
    static func moveAbove(_ fd: Int32, minimum: Int32 = 10) -> Int32 {
        guard fd < minimum else { return fd }
        let moved = fcntl(fd, F_DUPFD_CLOEXEC, minimum)
        guard moved >= 0 else { return fd }
        _ = Glibc.close(fd)
        return moved
    }
}
