#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import CPlatform
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import Shared

/// Accepts connections on a listening socket, on a thread of its own, and hands each to NIO: the socket the master
/// passed down (fd 3), or the one a worker run alone binds itself, so that both serve connections the same way.
///
/// During a reload the old and the new worker of a slot share the master's socket, so another process may take a
/// connection this one was woken for. SwiftNIO's server channel asserts that an accept after a readable event
/// succeeds (swift-nio#3500; fixed upstream only in open PRs), which kills a debug build. Accepting here instead —
/// poll, then a non-blocking `accept` where losing the race is an ordinary EAGAIN — is correct in every build, and
/// costs one hand-off to each loop per wake-up (what a wake-up accepts goes over together).
final class AcceptThread: Sendable {
    /// The most connections taken from the queue per wake-up.
    private static let acceptsPerWake = 64

    private let descriptor: CInt
    private let stopped = NIOLockedValueBox(false)
    private let finished = NIOLockedValueBox<EventLoopPromise<Void>?>(nil)

    init(descriptor: CInt) throws {
        let flags = fcntl(descriptor, F_GETFL)
        guard flags >= 0, fcntl(descriptor, F_SETFL, flags | O_NONBLOCK) == 0 else {
            throw IOError(errnoCode: errno, reason: "fcntl on the inherited listener")
        }
        try ClientSocketOptions.set(on: descriptor)
        self.descriptor = descriptor
    }

    /// Starts the accept thread. What one wake-up accepts goes to the event loops in turn, each loop's share as one
    /// task, and becomes a channel on the loop that serves it (`ConnectionAdopter`), set up by
    /// `initializeConnection` with the connection's descriptor (which the channel owns and closes). A channel made on
    /// the accept thread would reach its loop through a task and a future of its own: about 4 % of a new connection's
    /// instructions (BENCHMARKS.md, "Twenty-eighth round").
    func start(loops: [EventLoop],
               initializeConnection: @escaping @Sendable (Channel, CInt) -> EventLoopFuture<Void>) {
        precondition(!loops.isEmpty, "no event loop to serve the accepted connections")
        let promise = loops[0].makePromise(of: Void.self)
        finished.withLockedValue { $0 = promise }
        DetachedThread.start(name: "accept") { [self] in
            // Each loop's adopter is used on that loop only.
            let adopters = loops.map { loop in
                NIOLoopBoundBox.makeBoxSendingValue(
                    ConnectionAdopter(loop: loop, initializeConnection: initializeConnection),
                    as: ConnectionAdopter.self, eventLoop: loop)
            }
            var nextLoop = 0
            while !stopped.withLockedValue({ $0 }) {
                var poller = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
                // A short timeout bounds how long `stop()` waits for this thread.
                guard poll(&poller, 1, 100) > 0 else { continue }
                // Take what is queued (a burst of new connections costs one poll and one task per loop, not one
                // each), up to a bound so that `stop()` is still seen.
                var accepted = [[CInt]](repeating: [], count: loops.count)
                for _ in 0..<Self.acceptsPerWake {
                    // Close-on-exec set atomically: the worker never spawns processes, but nothing is left to chance.
                    let connection = cg_accept_cloexec(descriptor)
                    if connection < 0 {
                        // EAGAIN: the queue is empty, or another worker of the slot won the race. EMFILE/ENFILE:
                        // out of descriptors; back off briefly so the queue waits in the kernel instead of spinning.
                        if errno == EMFILE || errno == ENFILE { usleep(50_000) }
                        break
                    }
                    accepted[nextLoop].append(connection)
                    nextLoop = (nextLoop + 1) % loops.count
                }
                for (index, connections) in accepted.enumerated() where !connections.isEmpty {
                    let adopter = adopters[index]
                    loops[index].execute {
                        for connection in connections { adopter.value.adopt(connection) }
                    }
                }
            }
            promise.succeed(())
        }
    }

    /// Stops accepting and closes this process's descriptor of the socket; completes when the accept thread is gone.
    /// The master keeps its own open, so connections still queued on it go to the slot's next worker.
    /// Stopping again only waits for the thread: the descriptor is closed once.
    func stop() -> EventLoopFuture<Void>? {
        let first = stopped.withLockedValue { stopped in
            defer { stopped = true }
            return !stopped
        }
        guard let threadGone = finished.withLockedValue({ $0 })?.futureResult else { return nil }
        return first ? threadGone.map { [descriptor] in close(descriptor) } : threadGone
    }
}

/// Makes the connections the accept thread hands one event loop into channels, on that loop and through a bootstrap
/// whose group is that loop alone. Used on its loop only.
///
/// Who closes a connection whose channel cannot be set up depends on how far NIO got. Once it has made a channel of
/// the descriptor, it owns it and closes it itself when setting the channel up fails (`initializeConnection`
/// throwing; a failed registration with epoll NIO treats as fatal); closing it again here could close whatever took
/// the descriptor's number in between, such as another client's connection or an upstream socket. Only when it
/// could not make a channel at all is the descriptor still this side's to close. The bootstrap's initializer says
/// which: on the loop, with no channel options to apply, NIO runs it before `withConnectedSocket` returns, exactly
/// when it has made the channel. (Today's `initializeConnection` cannot throw; the rule holds for one that does.)
private final class ConnectionAdopter {
    /// The connection being adopted, and whether the bootstrap's initializer has run for it.
    private final class Adoption: @unchecked Sendable {
        /// Touched on the adopter's loop only.
        var descriptor: CInt = -1
        var channelMade = false
    }

    private let bootstrap: ClientBootstrap
    private let adoption = Adoption()

    init(loop: EventLoop, initializeConnection: @escaping @Sendable (Channel, CInt) -> EventLoopFuture<Void>) {
        let adoption = adoption
        bootstrap = ClientBootstrap(group: loop)
            // Drops NIO's one default channel option, TCP_NODELAY, which an accepted socket already has from the
            // listener (`ClientSocketOptions`): `enableMPTCP` is NIO's only way to drop it, and otherwise matters only
            // to a socket the bootstrap creates itself, never to one it is handed. It also leaves no option whose
            // setting could fail before the initializer runs.
            .enableMPTCP(true)
            .channelInitializer { channel in
                adoption.channelMade = true
                return initializeConnection(channel, adoption.descriptor)
            }
    }

    func adopt(_ connection: CInt) {
        adoption.descriptor = connection
        adoption.channelMade = false
        let channel = bootstrap.withConnectedSocket(connection)
        if !adoption.channelMade { channel.whenFailure { _ in close(connection) } }
    }
}
