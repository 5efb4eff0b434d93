import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import Shared

/// The worker's end of the control socketpair (fd 4): heartbeats and metrics up, drain orders down, and
/// request/response calls (embedded rate limiting, node-wide /health and /metrics) answered by the master.
final class ControlLink: Sendable {
    private struct State {
        var nextID = 1
        var pendingDecisions: [Int: EventLoopPromise<RateLimitAnswer>] = [:]
        var pendingQueries: [Int: EventLoopPromise<ControlMessage>] = [:]
    }

    private let channel: Channel
    private let state = NIOLockedValueBox(State())

    private init(channel: Channel) {
        self.channel = channel
    }

    /// Connects to the inherited descriptor. `onDrain` runs when the master orders a drain or goes away.
    static func connect(descriptor: CInt, group: EventLoopGroup, onDrain: @escaping @Sendable () -> Void)
        -> EventLoopFuture<ControlLink>
    {
        let box = NIOLockedValueBox<ControlLink?>(nil)
        return ClientBootstrap(group: group)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(ControlInboundHandler(
                        onMessage: { message in box.withLockedValue { $0 }?.receive(message, onDrain: onDrain) },
                        onClose: {
                            // The master went away: nobody will answer what is pending.
                            box.withLockedValue { $0 }?.failPending()
                            onDrain()
                        }))
                }
            }
            .withConnectedSocket(descriptor)
            .map { channel in
                let link = ControlLink(channel: channel)
                box.withLockedValue { $0 = link }
                return link
            }
    }

    /// Sends a message; the future completes once it is written to the socket.
    @discardableResult
    func send(_ message: ControlMessage) -> EventLoopFuture<Void> {
        let bytes = message.encoded()
        var buffer = channel.allocator.buffer(capacity: bytes.count)
        buffer.writeBytes(bytes)
        return channel.writeAndFlush(buffer)
    }

    /// The master's answer to an acquire: the decision, and the lease granted when one was asked for.
    struct RateLimitAnswer: Sendable {
        var decision: RateLimitDecision
        var grant: RateLimitLease.Grant?
    }

    /// Asks the master's node-wide limiter, giving back and asking for a lease as `lease` says.
    func acquire(bucket: String, requestsPerMinute: Int, tokensPerMinute: Int, tokens: Int,
                 lease: RateLimitLease.Terms = .init(), on loop: EventLoop) -> EventLoopFuture<RateLimitAnswer>
    {
        let promise = loop.makePromise(of: RateLimitAnswer.self)
        let id = state.withLockedValue { state -> Int in
            defer { state.nextID += 1 }
            state.pendingDecisions[state.nextID] = promise
            return state.nextID
        }
        send(.rateLimitAcquire(id: id, bucket: bucket, requestsPerMinute: requestsPerMinute,
                               tokensPerMinute: tokensPerMinute, tokens: tokens, lease: lease))
        return promise.futureResult
    }

    /// Asks the master to answer an admin path (`/health`, `/metrics`) for the whole node.
    func query(path: String, on loop: EventLoop) -> EventLoopFuture<ControlMessage> {
        let promise = loop.makePromise(of: ControlMessage.self)
        let id = state.withLockedValue { state -> Int in
            defer { state.nextID += 1 }
            state.pendingQueries[state.nextID] = promise
            return state.nextID
        }
        send(.adminQuery(id: id, path: path))
        return promise.futureResult
    }

    private func receive(_ message: ControlMessage, onDrain: @Sendable () -> Void) {
        switch message {
        case .drain:
            onDrain()
        case .rateLimitDecision(let id, let verdict, let grant):
            state.withLockedValue { $0.pendingDecisions.removeValue(forKey: id) }?
                .succeed(RateLimitAnswer(decision: verdict, grant: grant))
        case .adminResponse(let id, _, _, _):
            state.withLockedValue { $0.pendingQueries.removeValue(forKey: id) }?.succeed(message)
        default:
            break
        }
    }

    /// Fails every waiting call (the master went away): callers fall back to local answers.
    private func failPending() {
        let pending = state.withLockedValue { state -> State in
            defer {
                state.pendingDecisions.removeAll()
                state.pendingQueries.removeAll()
            }
            return state
        }
        for promise in pending.pendingDecisions.values { promise.fail(ChannelError.ioOnClosedChannel) }
        for promise in pending.pendingQueries.values { promise.fail(ChannelError.ioOnClosedChannel) }
    }
}

private final class ControlInboundHandler: ChannelInboundHandler, Sendable {
    typealias InboundIn = ByteBuffer

    private let onMessage: @Sendable (ControlMessage) -> Void
    private let onClose: @Sendable () -> Void
    private let lines = NIOLockedValueBox(ControlLineBuffer())

    init(onMessage: @escaping @Sendable (ControlMessage) -> Void, onClose: @escaping @Sendable () -> Void) {
        self.onMessage = onMessage
        self.onClose = onClose
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let buffer = unwrapInboundIn(data)
        let messages = lines.withLockedValue { $0.append(buffer.readableBytesView) }
        for message in messages { onMessage(message) }
    }

    func channelInactive(context: ChannelHandlerContext) {
        onClose()
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        context.close(promise: nil)
    }
}
