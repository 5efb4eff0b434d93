import Glibc
import NIOConcurrencyHelpers
import Logging
import NIOCore
import NIOPosix
import Shared

/// The worker's HTTP/1.1 server on its listening socket (inherited fd 3, or bound itself when run alone), accepted
/// on the worker's accept thread either way.
final class WorkerServer {
    enum Listener {
        /// A socket the master bound and passed down.
        case inherited(descriptor: CInt)
        case bind(host: String, port: Int)
    }

    private let context: WorkerContext
    private let group: EventLoopGroup
    private var acceptThread: AcceptThread?
    private let connections = ConnectionRegistry()

    init(context: WorkerContext, group: EventLoopGroup) {
        self.context = context
        self.group = group
    }

    func start(_ listener: Listener) throws -> Int {
        let config = context.config
        let worker = context
        let registry = connections
        // `socket`: the connection's descriptor, to which responses are sent directly (see `ClientOutput`).
        let initializeConnection: @Sendable (Channel, CInt) -> EventLoopFuture<Void> = { channel, socket in
            channel.eventLoop.makeCompletedFuture {
                let timeouts = ConnectionTimeouts(requestTimeout: .fromSeconds(config.requestTimeout),
                                                  idleTimeout: .fromSeconds(config.idleTimeout),
                                                  clock: worker.clock(for: channel.eventLoop))
                let sync = channel.pipeline.syncOperations
                try sync.addHandler(timeouts)
                // Requests are parsed, responses framed and pipelining handled by the connection handler itself
                // (see `HTTPConnectionHandler`).
                try sync.addHandler(HTTPConnectionHandler(worker: worker, timeouts: timeouts, socket: socket))
                registry.add(channel)
            }
        }
        let (descriptor, boundPort): (CInt, Int)
        switch listener {
        case .inherited(let inherited):
            (descriptor, boundPort) = (inherited, ListeningSocket.boundPort(of: inherited) ?? 0)
        case .bind(let host, let port):
            (descriptor, boundPort) = try ListeningSocket.open(host: host, port: port, backlog: 1024, reusePort: false)
        }
        let acceptThread: AcceptThread
        do {
            acceptThread = try AcceptThread(descriptor: descriptor)
        } catch {
            if case .bind = listener { close(descriptor) }
            throw error
        }
        // No per-connection socket options: accepted sockets inherit the listener's (`ClientSocketOptions`).
        acceptThread.start(loops: Array(group.makeIterator()), initializeConnection: initializeConnection)
        self.acceptThread = acceptThread
        return boundPort
    }

    /// Stops accepting, at once; completes when the accept thread is gone. `drain` does it first.
    func stopAccepting() -> EventLoopFuture<Void>? {
        acceptThread?.stop()
    }

    /// Stops accepting (connections still queued on the master's socket go to the slot's next worker), lets
    /// connections accepted a moment ago deliver their request, then closes idle ones; busy ones close after
    /// their response. Completes when no connection is left.
    func drain() -> EventLoopFuture<Void> {
        context.beginDraining()
        let loop = group.next()
        let closed = acceptThread?.stop() ?? loop.makeSucceededVoidFuture()
        let registry = connections
        return closed.flatMap { _ in
            // Quiescing at once lost requests in the prototype: a just-accepted connection's request may be
            // in flight. 300 ms covers it.
            loop.scheduleTask(in: .milliseconds(300)) { registry.broadcastDrain() }.futureResult
        }.flatMap { _ in registry.allClosed(on: loop) }
    }
}

/// Tracks open connections so a drain can reach them and know when the last one is gone.
final class ConnectionRegistry: Sendable {
    private let channels = NIOLockedValueBox<[ObjectIdentifier: Channel]>([:])

    func add(_ channel: Channel) {
        let id = ObjectIdentifier(channel)
        channels.withLockedValue { $0[id] = channel }
        channel.closeFuture.whenComplete { [self] _ in _ = channels.withLockedValue { $0.removeValue(forKey: id) } }
    }

    func broadcastDrain() {
        for channel in channels.withLockedValue({ Array($0.values) }) {
            channel.pipeline.fireUserInboundEventTriggered(DrainEvent())
        }
    }

    func allClosed(on loop: EventLoop) -> EventLoopFuture<Void> {
        let futures = channels.withLockedValue { Array($0.values) }.map(\.closeFuture)
        return EventLoopFuture.andAllComplete(futures, on: loop)
    }
}
