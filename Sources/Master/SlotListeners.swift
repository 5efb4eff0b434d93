import Glibc
import Shared

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
            try ListeningSocket.probe(host: host, port: port)
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
        let (raw, boundPort) = try ListeningSocket.open(host: host, port: port, backlog: backlog, reusePort: true)
        // Numbered 10 or above, so that moving it to fd 3 in a child never collides with the control channel's fd 4,
        // whatever the order of the file actions.
        let fd = Self.moveAbove(raw)
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

    /// Re-numbers `fd` to 10 or above, keeping CLOEXEC.
    static func moveAbove(_ fd: Int32, minimum: Int32 = 10) -> Int32 {
        guard fd < minimum else { return fd }
        let moved = fcntl(fd, F_DUPFD_CLOEXEC, minimum)
        guard moved >= 0 else { return fd }
        _ = Glibc.close(fd)
        return moved
    }
}
