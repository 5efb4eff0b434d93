import Glibc
import Synchronization

/// Where the signal handler writes; set once, before any handler is installed.
nonisolated(unsafe) private var signalWakeDescriptor: Int32 = -1

/// The master's inbox: signals (recorded by async-signal-safe handlers through a self-pipe) and events posted by
/// other threads (control channels), merged so that one loop can sleep on both with a timeout.
///
/// The handlers only write the signal number to a non-blocking pipe — the classic self-pipe trick — so all the
/// work happens in the loop, never in signal context.
final class SignalQueue<Event: Sendable>: Sendable {
    /// The signals the master handles.
    static var handledSignals: [Int32] { [SIGTERM, SIGINT, SIGQUIT, SIGHUP, SIGTTIN, SIGTTOU, SIGUSR1, SIGCHLD] }

    private let readDescriptor: Int32
    private let writeDescriptor: Int32
    private let events = Mutex<[Event]>([])

    init() {
        var descriptors: [Int32] = [-1, -1]
        guard pipe(&descriptors) == 0 else {
            fatalError("cannot create the signal pipe: \(String(cString: strerror(errno)))")
        }
        // pipe2 is _GNU_SOURCE-only for the importer; set the flags by hand (no child is spawned before this).
        readDescriptor = SlotListeners.moveAbove(descriptors[0])
        writeDescriptor = SlotListeners.moveAbove(descriptors[1])
        for descriptor in [readDescriptor, writeDescriptor] {
            _ = fcntl(descriptor, F_SETFL, O_NONBLOCK)
            _ = fcntl(descriptor, F_SETFD, FD_CLOEXEC)
        }
    }

    deinit {
        close(readDescriptor)
        close(writeDescriptor)
    }

    /// Installs the handlers (one queue per process). A broken control socket must not kill the master: SIGPIPE is
    /// ignored (NIO ignores it on its own sockets too).
    func installHandlers() {
        signalWakeDescriptor = writeDescriptor
        for signal in Self.handledSignals {
            var action = sigaction()
            action.__sigaction_handler.sa_handler = { signal in
                let saved = errno
                var byte = UInt8(truncatingIfNeeded: signal)
                _ = write(signalWakeDescriptor, &byte, 1)
                errno = saved
            }
            action.sa_flags = SA_RESTART
            sigemptyset(&action.sa_mask)
            sigaction(signal, &action, nil)
        }
        var ignore = sigaction()
        ignore.__sigaction_handler.sa_handler = SIG_IGN
        sigaction(SIGPIPE, &ignore, nil)
    }

    /// Posts an event from any thread and wakes the loop.
    func post(_ event: Event) {
        events.withLock { $0.append(event) }
        var byte: UInt8 = 0
        _ = write(writeDescriptor, &byte, 1)
    }

    /// Sleeps until a signal or an event arrives or `timeout` seconds pass; returns the signals in arrival order
    /// (repeats kept: two SIGTTIN mean two more workers) and the posted events.
    func wait(timeout: Double) -> (signals: [Int32], events: [Event]) {
        var descriptor = pollfd(fd: readDescriptor, events: Int16(POLLIN), revents: 0)
        let milliseconds = Int32((max(0, min(timeout, 3600)) * 1000).rounded(.up))
        _ = poll(&descriptor, 1, milliseconds)
        var signals: [Int32] = []
        var buffer = [UInt8](repeating: 0, count: 256)
        while true {
            let count = read(readDescriptor, &buffer, buffer.count)
            guard count > 0 else { break }
            for byte in buffer[0..<count] where byte != 0 { signals.append(Int32(byte)) }
        }
        let posted = events.withLock { events -> [Event] in
            defer { events.removeAll() }
            return events
        }
        return (signals, posted)
    }
}
