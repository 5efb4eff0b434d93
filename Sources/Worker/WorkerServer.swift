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
    private var inheritedListener: InheritedListener?
    private let connections = ConnectionRegistry()

    init(context: WorkerContext, group: EventLoopGroup) {
        self.context = context
        self.group = group
    }

    func start(_ listener: Listener) throws -> Int {
        let config = context.config
        let worker = context
        let registry = connections
        let limits = {
            var limits = NIOHTTPDecoderLimitConfiguration()
            limits.maxHeaderListSize = config.maxHeaderBytes
            limits.maxHeaderFieldSize = config.maxHeaderBytes
            return limits
        }()
        let initializeConnection: @Sendable (Channel) -> EventLoopFuture<Void> = { channel in
            channel.eventLoop.makeCompletedFuture {
                let timeouts = ConnectionTimeouts(requestTimeout: .fromSeconds(config.requestTimeout),
                                                  idleTimeout: .fromSeconds(config.idleTimeout),
                                                  clock: worker.clock(for: channel.eventLoop))
                let sync = channel.pipeline.syncOperations
                try sync.addHandler(timeouts)
                // Requests are decoded by NIO; responses are framed and pipelining is handled by the connection
                // handler itself (see `HTTPConnectionHandler`).
                try sync.addHandler(ByteToMessageHandler(HTTPRequestDecoder(limitConfiguration: limits)))
                try sync.addHandler(HTTPConnectionHandler(worker: worker, timeouts: timeouts))
                registry.add(channel)
            }
        }
        switch listener {
        case .inherited(let descriptor):
            let group = self.group
            let inherited = try InheritedListener(descriptor: descriptor)
            // No per-connection socket options: accepted sockets inherit the listener's (`ClientSocketOptions`).
            inherited.start(loops: Array(group.makeIterator()), initializeConnection: initializeConnection)
            inheritedListener = inherited
            return Self.boundPort(of: descriptor)
        case .bind(let host, let port):
            var bootstrap = ServerBootstrap(group: group)
                .serverChannelOption(.backlog, value: 1024)
                .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                .serverChannelOption(.maxMessagesPerRead, value: 64)
                .childChannelInitializer(initializeConnection)
            // Set on the listener, where accepted sockets inherit them.
            for option in ClientSocketOptions.channelOptions {
                bootstrap = bootstrap.serverChannelOption(option, value: 1)
            }
            let channel = try bootstrap.bind(host: host, port: port).wait()
            self.channel = channel
            return channel.localAddress?.port ?? 0
        }
    }

    private static func boundPort(of descriptor: CInt) -> Int {
        var address = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let result = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(descriptor, $0, &length) }
        }
        guard result == 0 else { return 0 }
        return withUnsafePointer(to: &address) { pointer -> Int in
            switch Int32(pointer.pointee.ss_family) {
            case AF_INET:
                return pointer.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { Int(UInt16(bigEndian: $0.pointee.sin_port)) }
            case AF_INET6:
                return pointer.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { Int(UInt16(bigEndian: $0.pointee.sin6_port)) }
            default:
                return 0
            }
        }
    }

    /// Stops accepting (connections still queued on the master's socket go to the slot's next worker), lets
    /// connections accepted a moment ago deliver their request, then closes idle ones; busy ones close after
    /// their response. Completes when no connection is left.
    func drain() -> EventLoopFuture<Void> {
        context.beginDraining()
        let loop = group.next()
        let closed = inheritedListener?.stop() ?? channel?.close() ?? loop.makeSucceededVoidFuture()
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
