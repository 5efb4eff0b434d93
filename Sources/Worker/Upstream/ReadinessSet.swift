import CCurl
import Glibc

/// The upstream client's view of curl's sockets: an epoll set the curl thread waits on, plus an eventfd that other
/// threads write to wake it.
///
/// Level-triggered, so a socket curl did not fully drain is reported again on the next wait. `wait` may run
/// while another thread changes the set (epoll allows it; a socket added meanwhile is reported); `watch` and
/// `unwatch` must be serialised by the caller.
final class ReadinessSet {
    struct Event {
        var fd: Int32
        var readable: Bool
        var writable: Bool
        var failed: Bool
    }

    private let epoll: Int32
    private let wakeFD: Int32
    /// Sockets currently in the set (so a change of interest is a MOD, a first interest an ADD).
    private var watched: Set<Int32> = []
    private let buffer: UnsafeMutableBufferPointer<epoll_event>

    init(capacity: Int = 256) {
        epoll = epoll_create1(Int32(EPOLL_CLOEXEC))
        wakeFD = eventfd(0, Int32(EFD_NONBLOCK | EFD_CLOEXEC))
        precondition(epoll >= 0 && wakeFD >= 0, "epoll_create1/eventfd failed: errno \(errno)")
        buffer = .allocate(capacity: capacity)
        var event = epoll_event()
        event.events = EPOLLIN.rawValue
        event.data.fd = wakeFD
        precondition(epoll_ctl(epoll, EPOLL_CTL_ADD, wakeFD, &event) == 0, "epoll_ctl(eventfd) failed: errno \(errno)")
    }

    deinit {
        close(epoll)
        close(wakeFD)
        buffer.deallocate()
    }

    /// The descriptor `wake` writes to; safe to hand to other threads.
    var wakeDescriptor: Int32 { wakeFD }

    /// Wakes a thread blocked in `wait` (callable from any thread, given `wakeDescriptor`).
    static func wake(_ descriptor: Int32) {
        var one: UInt64 = 1
        _ = write(descriptor, &one, MemoryLayout<UInt64>.size)
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

    /// Blocks up to `timeoutMs` (-1: no limit) and fills `ready` with the sockets that are ready. Returns whether
    /// the wake descriptor fired (its counter is reset). Nothing is called back, so the caller may change the set
    /// while it handles the events.
    func wait(timeoutMs: Int32, into ready: inout [Event]) -> Bool {
        ready.removeAll(keepingCapacity: true)
        let count = epoll_wait(epoll, buffer.baseAddress, Int32(buffer.count), timeoutMs)
        guard count > 0 else { return false }
        var woken = false
        for index in 0..<Int(count) {
            let event = buffer[index]
            let fd = event.data.fd
            if fd == wakeFD {
                var counter: UInt64 = 0
                _ = read(wakeFD, &counter, MemoryLayout<UInt64>.size)
                woken = true
                continue
            }
            let flags = event.events
            ready.append(Event(fd: fd,
                               readable: flags & (EPOLLIN.rawValue | EPOLLHUP.rawValue) != 0,
                               writable: flags & EPOLLOUT.rawValue != 0,
                               failed: flags & EPOLLERR.rawValue != 0))
        }
        return woken
    }
}
