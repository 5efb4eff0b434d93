import NIOCore
import NIOHTTP1
import NIOPosix

/// The listening socket and its event loops.
final class FakeServer {
    private let options: FakeOptions
    private let group: MultiThreadedEventLoopGroup
    private var channel: Channel?

    init(options: FakeOptions) {
        self.options = options
        self.group = MultiThreadedEventLoopGroup(numberOfThreads: options.threads)
    }

    /// Binds and starts accepting; returns the bound port.
    func start() throws -> Int {
        let services = FakeServices(
            stats: FakeStats(),
            flaky: FlakyCounter(),
            defaultScenario: options.defaultScenario
        )
        // One pacer per loop, used by that loop's connections only.
        let pacers = Dictionary(uniqueKeysWithValues: group.makeIterator().map { loop in
            (ObjectIdentifier(loop),
             NIOLoopBoundBox.makeBoxSendingValue(LoopPacer(loop: loop), as: LoopPacer.self, eventLoop: loop))
        })
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 1024)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            // Accept bursts promptly even while the loops are busy streaming (NIO's default is 4 per wake-up).
            .serverChannelOption(.maxMessagesPerRead, value: 256)
            .childChannelOption(.tcpOption(.tcp_nodelay), value: 1)
            .childChannelOption(.maxMessagesPerRead, value: 16)
            .childChannelInitializer { channel in
                services.stats.connectionAccepted()
                channel.closeFuture.whenComplete { _ in services.stats.connectionClosed() }
                return channel.eventLoop.makeCompletedFuture {
                    guard let pacer = pacers[ObjectIdentifier(channel.eventLoop)] else {
                        throw FakeServerError.unknownEventLoop
                    }
                    let pipeline = channel.pipeline.syncOperations
                    try pipeline.configureHTTPServerPipeline(withErrorHandling: true)
                    try pipeline.addHandler(FakeHTTPHandler(services: services, pacer: pacer.value))
                }
            }
        let channel = try bootstrap.bind(host: options.host, port: options.port).wait()
        self.channel = channel
        guard let port = channel.localAddress?.port else {
            throw FakeServerError.noLocalAddress
        }
        return port
    }

    /// Stops accepting and closes every connection.
    func stop() {
        try? channel?.close().wait()
        try? group.syncShutdownGracefully()
    }
}

enum FakeServerError: Error {
    case noLocalAddress
    /// A connection on a loop the server did not make a pacer for (cannot happen: one per loop of its group).
    case unknownEventLoop
}
