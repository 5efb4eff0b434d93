import Glibc
import NIOCore
import NIOPosix
import Shared
import Synchronization

/// What a worker's control channel tells the master loop.
enum ControlEvent: Sendable {
    case ready(pid: pid_t)
    case heartbeat(pid: pid_t, activeRequests: Int, metrics: MetricsSnapshot)
    /// The worker closed its end (it exited or is exiting); every message it sent was delivered before this.
    case closed(pid: pid_t)
}

/// The master's ends of the workers' control socketpairs, served by NIO.
///
/// Lifecycle messages (ready, heartbeat) go to the master loop through `onEvent` — the loop is the only writer of
/// the worker table. Requests are answered right here on the event loop, so they never wait for the loop's turn:
/// rate limiting (`rl`, `rlc`) by the injected `ControlRequestHandler`, admin queries (`aq`: `/health` or
/// `/metrics` asked on the API port) by the same `AdminRoutes` as the admin listener.
final class ControlChannels: Sendable {
    private let group: any EventLoopGroup
    private let requests: any ControlRequestHandler
    private let admin: AdminRoutes
    private let onEvent: @Sendable (ControlEvent) -> Void
    private let channels = Mutex<[pid_t: any Channel]>([:])

    init(group: any EventLoopGroup, requests: any ControlRequestHandler, admin: AdminRoutes,
         onEvent: @escaping @Sendable (ControlEvent) -> Void) {
        self.group = group
        self.requests = requests
        self.admin = admin
        self.onEvent = onEvent
    }

    /// Takes ownership of `descriptor` (the master's end of the worker's socketpair). On failure the descriptor
    /// is closed.
    func attach(pid: pid_t, descriptor: Int32) throws {
        let requests = self.requests
        let admin = self.admin
        let onEvent = self.onEvent
        let channel: any Channel
        do {
            channel = try ClientBootstrap(group: group)
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(
                            ControlChannelHandler(pid: pid, requests: requests, admin: admin, onEvent: onEvent))
                    }
                }
                .withConnectedSocket(descriptor).wait()
        } catch {
            close(descriptor)
            throw error
        }
        channels.withLock { $0[pid] = channel }
        channel.closeFuture.whenComplete { [weak self] _ in
            self?.channels.withLock { _ = $0.removeValue(forKey: pid) }
        }
    }

    /// Sends one message; false when the worker's channel is gone.
    @discardableResult
    func send(_ message: ControlMessage, to pid: pid_t) -> Bool {
        guard let channel = channels.withLock({ $0[pid] }), channel.isActive else { return false }
        channel.writeAndFlush(ByteBuffer(bytes: message.encoded()), promise: nil)
        return true
    }

    func closeAll() {
        let all = channels.withLock { channels -> [any Channel] in
            defer { channels.removeAll() }
            return Array(channels.values)
        }
        for channel in all { try? channel.close().wait() }
    }
}

/// Reads control lines from one worker.
final class ControlChannelHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let pid: pid_t
    private let requests: any ControlRequestHandler
    private let admin: AdminRoutes
    private let onEvent: @Sendable (ControlEvent) -> Void
    private var lines = ControlLineBuffer()
    private var closed = false

    init(pid: pid_t, requests: any ControlRequestHandler, admin: AdminRoutes,
         onEvent: @escaping @Sendable (ControlEvent) -> Void) {
        self.pid = pid
        self.requests = requests
        self.admin = admin
        self.onEvent = onEvent
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let buffer = unwrapInboundIn(data)
        for message in lines.append(buffer.readableBytesView) {
            switch message {
            case .ready(let reported):
                // The pid the worker reports is informational; the spawn result is authoritative.
                _ = reported
                onEvent(.ready(pid: pid))
            case .heartbeat(let active, let metrics):
                onEvent(.heartbeat(pid: pid, activeRequests: active, metrics: metrics))
            case .rateLimitAcquire, .rateLimitCorrect:
                let channel = context.channel
                requests.handle(message) { answer in
                    channel.writeAndFlush(ByteBuffer(bytes: answer.encoded()), promise: nil)
                }
            case .adminQuery(let id, let path):
                let answer = admin.respond(method: "GET", uri: path)
                let reply = ControlMessage.adminResponse(id: id, status: answer.status, contentType: answer.contentType,
                                                         body: answer.body)
                context.writeAndFlush(wrapOutboundOut(ByteBuffer(bytes: reply.encoded())), promise: nil)
            case .rateLimitDecision, .drain, .adminResponse:
                break  // master → worker messages; a worker never sends them
            }
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        reportClosed()
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        reportClosed()
    }

    private func reportClosed() {
        guard !closed else { return }
        closed = true
        onEvent(.closed(pid: pid))
    }
}
