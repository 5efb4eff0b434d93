import NIOCore

/// The two clocks of a client connection, kept without a timer per request:
/// - a request must arrive completely within `REQUEST_TIMEOUT_SECONDS` of its first byte (slowloris);
/// - a keep-alive connection with no request under way for `IDLE_TIMEOUT_SECONDS` is closed.
///
/// Sits before the HTTP decoder and sees raw bytes, so a request's clock starts at its first byte (or at its head,
/// for a pipelined request whose bytes came with the one before: `requestBegan`). Requests only record times. One
/// check per connection is scheduled; when it runs it closes the connection or schedules itself again, never later
/// than the next deadline and never more than a request timeout ahead, so a request that begins meanwhile finds it
/// due soon enough and the check is moved only when the idle timeout is the shorter one.
final class ConnectionTimeouts: ChannelInboundHandler {
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
    private var phase = Phase.idle(since: .now())
    private var check: (task: Scheduled<Void>, due: NIODeadline)?
    private var channel: Channel?

    init(requestTimeout: TimeAmount, idleTimeout: TimeAmount) {
        self.requestTimeout = requestTimeout
        self.idleTimeout = idleTimeout
    }

    func handlerAdded(context: ChannelHandlerContext) {
        channel = context.channel
        phase = .idle(since: .now())
        runCheck()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        requestBegan()
        context.fireChannelRead(data)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        check?.task.cancel()
        check = nil
        channel = nil
    }

    /// Bytes or a head of a new request arrived: its clock starts unless it already runs.
    func requestBegan() {
        guard case .idle = phase else { return }
        let now = NIODeadline.now()
        phase = .receiving(since: now)
        checkNoLaterThan(now + requestTimeout)
    }

    /// The request arrived whole: its clock stops while it is answered.
    func requestCompleted() {
        phase = .responding
    }

    /// The response is done: the connection is idle until the next request begins.
    func awaitNextRequest() {
        let now = NIODeadline.now()
        phase = .idle(since: now)
        checkNoLaterThan(now + idleTimeout)
    }

    private func checkNoLaterThan(_ deadline: NIODeadline) {
        if let check, check.due <= deadline { return }
        schedule(at: deadline)
    }

    private func schedule(at due: NIODeadline) {
        guard let channel else { return }
        check?.task.cancel()
        let task = channel.eventLoop.assumeIsolated().scheduleTask(deadline: due) { [self] in
            check = nil
            runCheck()
        }
        check = (task, due)
    }

    private func runCheck() {
        let now = NIODeadline.now()
        let next: NIODeadline
        switch phase {
        case .idle(let since):
            guard now < since + idleTimeout else {
                channel?.close(promise: nil)
                return
            }
            next = min(since + idleTimeout, now + requestTimeout)
        case .receiving(let since):
            guard now < since + requestTimeout else {
                channel?.close(promise: nil)
                return
            }
            next = since + requestTimeout
        case .responding:
            next = now + requestTimeout
        }
        schedule(at: next)
    }
}
