import NIOCore

/// Closes a connection whose request does not arrive completely within `REQUEST_TIMEOUT_SECONDS` (slowloris).
///
/// Sits before the HTTP decoder and sees raw bytes: the clock starts at the first byte of a request and stops
/// when the HTTP handler reports the request complete.
final class SlowRequestGuard: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    private let timeout: TimeAmount
    private var deadline: Scheduled<Void>?
    private var waitingForRequest = true

    init(timeout: TimeAmount) {
        self.timeout = timeout
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if waitingForRequest, deadline == nil {
            let channel = context.channel
            deadline = context.eventLoop.scheduleTask(in: timeout) { channel.close(promise: nil) }
        }
        context.fireChannelRead(data)
    }

    /// The request arrived whole: stop the clock until the next request begins.
    func requestCompleted() {
        deadline?.cancel()
        deadline = nil
        waitingForRequest = false
    }

    /// The response is done; the next bytes start a new request.
    func awaitNextRequest() {
        waitingForRequest = true
    }

    func channelInactive(context: ChannelHandlerContext) {
        deadline?.cancel()
        deadline = nil
        context.fireChannelInactive()
    }
}
