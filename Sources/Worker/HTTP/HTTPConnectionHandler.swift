import Logging
import NIOCore
import NIOHTTP1
import Shared

/// One client connection: assembles requests within the limits, routes them, writes responses.
///
/// Lifecycle per request: idle → receiving (head seen, body accumulating) → responding → idle. Pipelined
/// requests are serialised by NIO's `HTTPServerPipelineHandler` in front of this handler.
final class HTTPConnectionHandler: ChannelInboundHandler, ResponseSink {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private enum State {
        case idle
        case receiving(RequestHead, body: ByteBuffer)
        /// The request was refused (413) mid-body; the connection closes after the response.
        case refusing
        case responding
    }

    private let worker: WorkerContext
    private let timeouts: ConnectionTimeouts
    private var state = State.idle
    private var context: ChannelHandlerContext?
    private var keepAlive = true
    /// HEAD responses carry the headers of the GET response and no body.
    private var isHeadRequest = false
    private var exchange: RequestExchange?
    /// A request was counted in `worker.activeRequests` and not yet finished.
    private var requestOpen = false

    init(worker: WorkerContext, timeouts: ConnectionTimeouts) {
        self.worker = worker
        self.timeouts = timeouts
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
    }

    // MARK: - Inbound

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            receiveHead(head)
        case .body(var chunk):
            guard case .receiving(let head, var body) = state else { return }
            state = .responding  // avoid a copy-on-write of the body while appending
            guard body.readableBytes + chunk.readableBytes <= worker.config.maxBodyBytes else {
                refuseTooLarge(head)
                return
            }
            body.writeBuffer(&chunk)
            state = .receiving(head, body: body)
        case .end:
            switch state {
            case .receiving(let head, let body):
                timeouts.requestCompleted()
                state = .responding
                dispatch(head, body: body, eventLoop: context.eventLoop)
            case .refusing, .responding, .idle:
                break
            }
        }
    }

    private func receiveHead(_ httpHead: HTTPRequestHead) {
        guard case .idle = state else { return }
        // A pipelined request's bytes came with the previous one's: its clock starts now.
        timeouts.requestBegan()
        worker.requestStarted()
        requestOpen = true
        let head = RequestHead(head: httpHead, requestID: RandomID.make(prefix: "req_"), receivedAt: .now())
        keepAlive = httpHead.isKeepAlive
        isHeadRequest = httpHead.method == .HEAD
        if let length = httpHead.headers.first(name: "content-length").flatMap(Int.init),
            length > worker.config.maxBodyBytes
        {
            // Refused from the declared length alone: nothing of the body is buffered.
            refuseTooLarge(head)
            return
        }
        if httpHead.headers.first(name: "expect")?.lowercased() == "100-continue" {
            context?.writeAndFlush(wrapOutboundOut(.head(HTTPResponseHead(version: httpHead.version, status: .continue))),
                                   promise: nil)
        }
        state = .receiving(head, body: context?.channel.allocator.buffer(capacity: 0) ?? ByteBuffer())
    }

    private func refuseTooLarge(_ head: RequestHead) {
        state = .refusing
        keepAlive = false
        let error = GatewayError(.requestTooLarge,
                                 "request body exceeds the limit of \(worker.config.maxBodyBytes) bytes")
        sendError(error, head: head)
    }

    private func dispatch(_ head: RequestHead, body: ByteBuffer, eventLoop: EventLoop) {
        let route = Route.resolve(method: head.head.method, uri: head.head.uri)
        let exchange = RequestExchange(worker: worker, head: head, route: route, sink: self, eventLoop: eventLoop)
        self.exchange = exchange
        exchange.run(body: body)
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        exchange?.clientWritabilityChanged(context.channel.isWritable)
        context.fireChannelWritabilityChanged()
    }

    func channelInactive(context: ChannelHandlerContext) {
        exchange?.clientClosed()
        exchange = nil
        finishRequest()
        state = .idle
        context.fireChannelInactive()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is DrainEvent, case .idle = state {
            context.close(promise: nil)
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        worker.logger.debug("connection error", metadata: ["error": "\(error)"])
        context.close(promise: nil)
    }

    // MARK: - ResponseSink

    var isClientWritable: Bool { context?.channel.isWritable ?? false }

    func sendHead(status: HTTPResponseStatus, headers: HTTPHeaders) {
        guard let context else { return }
        var headers = headers
        if !keepAlive || worker.isDraining { headers.replaceOrAdd(name: "connection", value: "close") }
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: status, headers: headers))),
                      promise: nil)
    }

    func sendBody(_ bytes: [UInt8]) {
        guard let context else { return }
        var buffer = context.channel.allocator.buffer(capacity: bytes.count)
        buffer.writeBytes(bytes)
        context.writeAndFlush(wrapOutboundOut(.body(.byteBuffer(buffer))), promise: nil)
    }

    func sendEnd() {
        guard let context else { return }
        exchange = nil
        finishRequest()
        var closeAfter = !keepAlive || worker.isDraining
        if case .refusing = state {
            // The rest of the refused body may still be arriving: the connection cannot be reused.
            closeAfter = true
        } else {
            state = .idle
        }
        timeouts.awaitNextRequest()
        guard closeAfter else {
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
            return
        }
        let channel = context.channel
        context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in channel.close(promise: nil) }
    }

    private func finishRequest() {
        guard requestOpen else { return }
        requestOpen = false
        worker.requestFinished()
    }

    func sendResponse(status: HTTPResponseStatus, headers: HTTPHeaders, body: [UInt8]) {
        var headers = headers
        headers.replaceOrAdd(name: "content-length", value: String(body.count))
        sendHead(status: status, headers: headers)
        if !body.isEmpty, !isHeadRequest, let context {
            var buffer = context.channel.allocator.buffer(capacity: body.count)
            buffer.writeBytes(body)
            context.write(wrapOutboundOut(.body(.byteBuffer(buffer))), promise: nil)
        }
        sendEnd()
    }

    private func sendError(_ error: GatewayError, head: RequestHead) {
        var headers = HTTPHeaders()
        headers.add(name: "content-type", value: "application/json")
        headers.add(name: "request-id", value: head.requestID)
        sendResponse(status: HTTPResponseStatus(statusCode: error.status), headers: headers,
                     body: error.body(requestID: head.requestID))
    }
}

/// A request head with what the gateway adds on arrival.
struct RequestHead {
    var head: HTTPRequestHead
    var requestID: String
    var receivedAt: NIODeadline
}

/// Sent down every connection's pipeline when the worker drains: idle connections close at once, busy ones
/// after their response.
struct DrainEvent {}
