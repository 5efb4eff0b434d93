import NIOConcurrencyHelpers
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import Shared

/// The worker's HTTP/1.1 server on its listening socket (inherited fd 3, or bound itself when run alone).
final class WorkerServer {
    enum Listener {
        /// A socket the master bound and passed down.
        case inherited(descriptor: CInt)
        case bind(host: String, port: Int)
    }

    private let context: WorkerContext
    private let group: EventLoopGroup
    private var channel: Channel?
    private let connections = ConnectionRegistry()

    init(context: WorkerContext, group: EventLoopGroup) {
        self.context = context
        self.group = group
    }

    func start(_ listener: Listener) throws -> Int {
        let config = context.config
        let worker = context
        let registry = connections
        var limits = NIOHTTPDecoderLimitConfiguration()
        limits.maxHeaderListSize = config.maxHeaderBytes
        limits.maxHeaderFieldSize = config.maxHeaderBytes
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 1024)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .serverChannelOption(.maxMessagesPerRead, value: 64)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelOption(.socketOption(.so_keepalive), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let guardHandler = SlowRequestGuard(timeout: .nanoseconds(Int64(config.requestTimeout * 1e9)))
                    let sync = channel.pipeline.syncOperations
                    try sync.addHandler(guardHandler)
                    try sync.configureHTTPServerPipeline(withPipeliningAssistance: true, withErrorHandling: true,
                                                         withEncoderConfiguration: .init(),
                                                         withDecoderLimitConfiguration: limits)
                    try sync.addHandler(IdleStateHandler(allTimeout: .nanoseconds(Int64(config.idleTimeout * 1e9))))
                    try sync.addHandler(HTTPConnectionHandler(worker: worker, slowRequestGuard: guardHandler))
                    registry.add(channel)
                }
            }
        let channel: Channel
        switch listener {
        case .inherited(let descriptor):
            channel = try bootstrap.withBoundSocket(descriptor).wait()
        case .bind(let host, let port):
            channel = try bootstrap.bind(host: host, port: port).wait()
        }
        self.channel = channel
        return channel.localAddress?.port ?? 0
    }

    /// Stops accepting (connections still queued on the master's socket go to the slot's next worker), lets
    /// connections accepted a moment ago deliver their request, then closes idle ones; busy ones close after
    /// their response. Completes when no connection is left.
    func drain() -> EventLoopFuture<Void> {
        context.beginDraining()
        let loop = group.next()
        let closed = channel?.close() ?? loop.makeSucceededVoidFuture()
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
