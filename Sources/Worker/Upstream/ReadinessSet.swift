import CCurl
import Glibc

/// The upstream client's view of curl's sockets: an epoll set holding the sockets curl asked to watch, itself
/// nested in the event loop's epoll set (`nest(into:)`), so that the loop wakes when an upstream socket is ready.
///
/// Level-triggered, so a socket curl did not fully drain is reported again by the next `poll`, and the nested set
/// keeps the loop awake until curl has read what is there. Used by one thread, the event loop's.
///
/// A kept-alive upstream connection is not taken out of the kernel's set when curl stops watching it at the end of
/// a transfer: it stays registered, *parked*, so that the next transfer on it, which watches the same direction,
/// costs no `epoll_ctl` at all (two system calls per request fewer). Only sockets whose closing the set is told
/// about (`opened` / `closing`, from curl's open- and close-socket callbacks) are parked: a closed descriptor leaves
/// the kernel's set by itself, and its number, reused by the next socket, must not be taken for a registration.
/// A parked socket that becomes ready (the upstream closed the idle connection) is taken out by the next `poll`,
/// which reports nothing for it: curl finds the connection dead when it next looks.
final class ReadinessSet {
    struct Event {
        var fd: Int32
        var readable: Bool
        var writable: Bool
        var failed: Bool
    }

    /// What the set knows of one descriptor.
    private struct SocketState: OptionSet {
        let rawValue: UInt8
        /// Registered in the kernel's set with read interest.
        static let readable = SocketState(rawValue: 1)
        /// Registered in the kernel's set with write interest.
        static let writable = SocketState(rawValue: 2)
        /// Registered, and curl does not watch it now.
        static let parked = SocketState(rawValue: 4)
        /// Open, and its closing will be announced (`closing`): it may be parked.
        static let announced = SocketState(rawValue: 8)
        static let interest: SocketState = [.readable, .writable]
    }

    /// The kernel's set (internal for tests, which read its entries from `/proc`).
    let epoll: Int32
    /// By descriptor number: a plain array, read on every ready socket, where a hashed set would cost a hash.
    private var sockets: [SocketState] = []
    /// How many sockets the kernel's set holds, curl's watched ones and the parked ones.
    private(set) var registeredCount = 0
    /// How many of them are parked.
    private(set) var parkedCount = 0
    private let buffer: UnsafeMutableBufferPointer<epoll_event>
    /// The event loop's epoll set this one is nested in.
    private var outer: Int32?
    /// `epoll_ctl` calls made on this set, for tests.
    private(set) var kernelUpdates = 0

    init(capacity: Int = 256) {
        epoll = epoll_create1(Int32(EPOLL_CLOEXEC))
        precondition(epoll >= 0, "epoll_create1 failed: errno \(errno)")
        buffer = .allocate(capacity: capacity)
    }

    deinit {
        unnest()
        close(epoll)
        buffer.deallocate()
    }

    /// Whether the kernel's set holds no socket, watched or parked: then it cannot be ready.
    var isEmpty: Bool { registeredCount == 0 }

    /// Whether curl watches any socket (the set holds more than parked ones).
    var watchesAny: Bool { registeredCount > parkedCount }

    private func state(of fd: Int32) -> SocketState {
        fd >= 0 && Int(fd) < sockets.count ? sockets[Int(fd)] : []
    }

    /// Records `new` for `fd`, keeping the counts in step.
    private func update(_ fd: Int32, to new: SocketState) {
        guard fd >= 0 else { return }
        let old = state(of: fd)
        registeredCount += (new.isDisjoint(with: .interest) ? 0 : 1) - (old.isDisjoint(with: .interest) ? 0 : 1)
        parkedCount += (new.contains(.parked) ? 1 : 0) - (old.contains(.parked) ? 1 : 0)
        if Int(fd) >= sockets.count {
            sockets.append(contentsOf: repeatElement([], count: max(Int(fd) + 1, 2 * sockets.count, 64) - sockets.count))
        }
        sockets[Int(fd)] = new
    }

    /// Adds this set to `outerEpoll` (read interest), so a wait on `outerEpoll` ends when a socket here is ready.
    /// The entry's data is this set's own descriptor with registration 0, which NIO finds no channel for and skips.
    func nest(into outerEpoll: Int32) throws(NestingFailed) {
        var event = epoll_event()
        event.events = EPOLLIN.rawValue
        event.data.u64 = UInt64(UInt32(bitPattern: epoll))
        guard epoll_ctl(outerEpoll, EPOLL_CTL_ADD, epoll, &event) == 0 else { throw NestingFailed(errno: errno) }
        outer = outerEpoll
    }

    /// Takes this set out of the event loop's (before the loop or the set goes away).
    func unnest() {
        guard let outer else { return }
        _ = epoll_ctl(outer, EPOLL_CTL_DEL, epoll, nil)
        self.outer = nil
    }

    /// Starts or changes watching `fd`; with neither direction it stops watching.
    func watch(_ fd: Int32, readable: Bool, writable: Bool) {
        guard readable || writable else {
            unwatch(fd)
            return
        }
        let old = state(of: fd)
        let wanted: SocketState = readable ? (writable ? .interest : .readable) : .writable
        update(fd, to: old.subtracting([.interest, .parked]).union(wanted))
        let current = old.intersection(.interest)
        guard current != wanted else { return }
        var event = epoll_event()
        event.events = (readable ? EPOLLIN.rawValue : 0) | (writable ? EPOLLOUT.rawValue : 0)
        event.data.fd = fd
        kernelUpdates += 1
        if !current.isEmpty {
            if epoll_ctl(epoll, EPOLL_CTL_MOD, fd, &event) != 0, errno == ENOENT {
                _ = epoll_ctl(epoll, EPOLL_CTL_ADD, fd, &event)
            }
        } else if epoll_ctl(epoll, EPOLL_CTL_ADD, fd, &event) != 0, errno == EEXIST {
            _ = epoll_ctl(epoll, EPOLL_CTL_MOD, fd, &event)
        }
    }

    /// curl no longer watches `fd`: parked when its closing will be announced, else taken out of the set.
    func unwatch(_ fd: Int32) {
        let current = state(of: fd)
        guard !current.isDisjoint(with: .interest) else { return }
        if current.contains(.announced) {
            update(fd, to: current.union(.parked))
        } else {
            deregister(fd)
        }
    }

    /// curl opened `fd` and will announce its closing (`closing`).
    func opened(_ fd: Int32) {
        update(fd, to: .announced)
    }

    /// `fd` is about to be closed: closing it takes it out of the kernel's set, and its number may come back.
    func closing(_ fd: Int32) {
        update(fd, to: [])
    }

    private func deregister(_ fd: Int32) {
        update(fd, to: state(of: fd).intersection(.announced))
        kernelUpdates += 1
        // Fails harmlessly when the socket is already closed (closing removes it from the set).
        _ = epoll_ctl(epoll, EPOLL_CTL_DEL, fd, nil)
    }

    /// Fills `ready` with the sockets curl watches that are ready now, without waiting; a parked socket that is
    /// ready is taken out of the set instead. Nothing is called back, so the caller may change the set while it
    /// handles the events.
    func poll(into ready: inout [Event]) {
        ready.removeAll(keepingCapacity: true)
        let count = epoll_wait(epoll, buffer.baseAddress, Int32(buffer.count), 0)
        guard count > 0 else { return }
        for index in 0..<Int(count) {
            let event = buffer[index]
            let fd = event.data.fd
            if state(of: fd).contains(.parked) {
                deregister(fd)
                continue
            }
            let flags = event.events
            ready.append(Event(fd: fd,
                               readable: flags & (EPOLLIN.rawValue | EPOLLHUP.rawValue) != 0,
                               writable: flags & EPOLLOUT.rawValue != 0,
                               failed: flags & EPOLLERR.rawValue != 0))
        }
    }
}

/// The upstream sockets' epoll set could not be added to the event loop's.
struct NestingFailed: Error, CustomStringConvertible {
    let errno: Int32
    var description: String { "cannot nest the upstream sockets' epoll set in the event loop's: errno \(errno)" }
}
