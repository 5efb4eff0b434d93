import CCurl
import Glibc

/// The upstream client's view of curl's sockets: an epoll set holding the sockets curl asked to watch, itself
/// nested in the event loop's epoll set (`nest(into:)`), so that the loop wakes when an upstream socket is ready.
///
/// Level-triggered, so a socket curl did not fully drain is reported again by the next `poll`, and the nested set
/// keeps the loop awake until curl has read what is there. Used by one thread, the event loop's.
final class ReadinessSet {
    struct Event {
        var fd: Int32
        var readable: Bool
        var writable: Bool
        var failed: Bool
    }

    private let epoll: Int32
    /// Sockets currently in the set (so a change of interest is a MOD, a first interest an ADD).
    private var watched: Set<Int32> = []
    private let buffer: UnsafeMutableBufferPointer<epoll_event>
    /// The event loop's epoll set this one is nested in.
    private var outer: Int32?

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

    /// Whether curl watches any socket: when it does not, the set cannot be ready.
    var isWatching: Bool { !watched.isEmpty }

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
        var event = epoll_event()
        event.events = (readable ? EPOLLIN.rawValue : 0) | (writable ? EPOLLOUT.rawValue : 0)
        event.data.fd = fd
        if watched.contains(fd) {
            if epoll_ctl(epoll, EPOLL_CTL_MOD, fd, &event) != 0, errno == ENOENT {
                _ = epoll_ctl(epoll, EPOLL_CTL_ADD, fd, &event)
            }
        } else {
            watched.insert(fd)
            if epoll_ctl(epoll, EPOLL_CTL_ADD, fd, &event) != 0, errno == EEXIST {
                _ = epoll_ctl(epoll, EPOLL_CTL_MOD, fd, &event)
            }
        }
    }

    func unwatch(_ fd: Int32) {
        guard watched.remove(fd) != nil else { return }
        // Fails harmlessly when curl already closed the socket (closing removes it from the set).
        _ = epoll_ctl(epoll, EPOLL_CTL_DEL, fd, nil)
    }

    /// Fills `ready` with the sockets that are ready now, without waiting. Nothing is called back, so the caller
    /// may change the set while it handles the events.
    func poll(into ready: inout [Event]) {
        ready.removeAll(keepingCapacity: true)
        let count = epoll_wait(epoll, buffer.baseAddress, Int32(buffer.count), 0)
        guard count > 0 else { return }
        for index in 0..<Int(count) {
            let event = buffer[index]
            let flags = event.events
            ready.append(Event(fd: event.data.fd,
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
