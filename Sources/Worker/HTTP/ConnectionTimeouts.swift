import NIOCore

/// The two clocks of a client connection, kept without a timer of its own:
/// - a request must arrive completely within `REQUEST_TIMEOUT_SECONDS` of its first byte (slowloris);
/// - a keep-alive connection with no request under way for `IDLE_TIMEOUT_SECONDS` is closed.
///
/// Sits before the HTTP decoder and sees raw bytes, so a request's clock starts at its first byte (or at its head,
/// for a pipelined request whose bytes came with the one before: `requestBegan`). Requests only record times; the
/// event loop's clock (`LoopClock`) looks at them while the connection is open, and a tick that finds a deadline
/// passed closes the connection.
final class ConnectionTimeouts: ChannelInboundHandler, LoopClockSubscriber {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    private enum Phase {
        /// Between requests (or before the first), since then.
        case idle(since: NIODeadline)
        /// A request is arriving, since its first byte.
        case receiving(since: NIODeadline)
        /// The request arrived whole; its response is under way.
        case responding
    }

    private let requestTimeout: TimeAmount
    private let idleTimeout: TimeAmount
    private let clock: LoopClock
    private var phase = Phase.idle(since: .now())
    private var channel: Channel?
    var loopClockSlot: Int?

    /// - Parameter clock: the clock of the event loop the connection is served on.
    init(requestTimeout: TimeAmount, idleTimeout: TimeAmount, clock: LoopClock) {
        self.requestTimeout = requestTimeout
        self.idleTimeout = idleTimeout
        self.clock = clock
    }

    func handlerAdded(context: ChannelHandlerContext) {
        channel = context.channel
        phase = .idle(since: .now())
        clock.add(self)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        requestBegan()
        context.fireChannelRead(data)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        clock.remove(self)
        channel = nil
    }

    /// Bytes or a head of a new request arrived: its clock starts unless it already runs.
    func requestBegan() {
        guard case .idle = phase else { return }
        phase = .receiving(since: .now())
    }

    /// The request arrived whole: its clock stops while it is answered.
    func requestCompleted() {
        phase = .responding
    }

    /// The response is done: the connection is idle until the next request begins.
    func awaitNextRequest() {
        phase = .idle(since: .now())
    }

    func loopClockTicked(now: NIODeadline) {
        switch phase {
        case .idle(let since) where now - since >= idleTimeout,
             .receiving(let since) where now - since >= requestTimeout:
            clock.remove(self)
            channel?.close(promise: nil)
        case .idle, .receiving, .responding:
            break
        }
    }
}
