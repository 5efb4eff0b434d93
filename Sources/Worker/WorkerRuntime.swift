import Logging
import NIOCore
import NIOPosix
import Shared

/// A running worker: event loop, its upstream client, HTTP server and (under a master) the control link.
/// Also used in-process by the tests.
public final class WorkerRuntime: @unchecked Sendable {
    // Written once in `start`, then only read.
    private let group: MultiThreadedEventLoopGroup
    private let context: WorkerContext
    private let server: WorkerServer
    private var heartbeat: RepeatedTask?
    private var idleMemoryRelease: IdleMemoryRelease?
    public private(set) var port = 0

    /// - Parameters:
    ///   - control: the control socket's descriptor when run by a master.
    public init(config: GatewayConfig, logger: Logger, threads: Int = 1, control: CInt? = nil,
                onDrainOrder: @escaping @Sendable () -> Void = {}) throws {
        // The tick hook lets each loop drive its own upstream client (see `UpstreamClient`).
        let ticks = UpstreamTickHook()
        let group = MultiThreadedEventLoopGroup(numberOfThreads: threads, metricsDelegate: ticks)
        self.group = group
        let loops = group.makeIterator().map { $0 }
        let upstreams: [UpstreamClient]
        do {
            upstreams = try loops.map {
                try UpstreamClient.make(on: $0, ticks: ticks, settings: UpstreamConnectionSettings(config)).wait()
            }
        } catch {
            try? group.syncShutdownGracefully()
            throw error
        }
        let link = try control.map { try ControlLink.connect(descriptor: $0, group: group, onDrain: onDrainOrder).wait() }
        let controlPlane = ControlPlane.make(config: config, control: link, loops: loops, logger: logger)
        context = WorkerContext(config: config, upstreams: upstreams, metrics: WorkerMetrics(), logger: logger,
                                control: link, controlPlane: controlPlane)
        server = WorkerServer(context: context, group: group)
    }

    /// Starts serving; returns the port.
    @discardableResult
    public func start(inheritedDescriptor: CInt? = nil) throws -> Int {
        let listener: WorkerServer.Listener = inheritedDescriptor.map { .inherited(descriptor: $0) }
            ?? .bind(host: context.config.host, port: context.config.port)
        port = try server.start(listener)
        if context.config.idleMemoryRelease > 0 {
            let release = IdleMemoryRelease(context: context, loop: group.next(),
                                            quietSeconds: context.config.idleMemoryRelease)
            release.start()
            idleMemoryRelease = release
        }
        if let control = context.control {
            control.send(.ready(pid: getpid()))
            let context = self.context
            heartbeat = group.next().scheduleRepeatedTask(initialDelay: .zero, delay: .seconds(1)) { _ in
                control.send(.heartbeat(activeRequests: context.activeRequests, metrics: context.metricsSnapshot()))
            }
        }
        return port
    }

    /// Stops accepting and completes once every connection has finished.
    public func drain() -> EventLoopFuture<Void> {
        let context = self.context
        let loop = group.next()
        return server.drain().flatMap { _ in
            // What this worker's rate-limit leases did not use goes back to the keeper before it exits.
            context.controlPlane.rateLimiter?.handBackLeases(on: loop) ?? loop.makeSucceededVoidFuture()
        }.flatMap { _ in
            // A last heartbeat, written before the process exits, so the master has this worker's final counts.
            guard let control = context.control else { return loop.makeSucceededVoidFuture() }
            return control.send(.heartbeat(activeRequests: 0, metrics: context.metricsSnapshot()))
                .flatMapErrorThrowing { _ in }
        }
    }

    public func shutdown() {
        // Before the loops go: the accept thread hands connections to them (after a drain it is gone already).
        _ = try? server.stopAccepting()?.wait()
        heartbeat?.cancel()
        idleMemoryRelease?.stop()
        for upstream in context.allUpstreams { try? upstream.shutdown().wait() }
        context.controlPlane.redis?.shutdown()
        try? group.syncShutdownGracefully()
    }
}
