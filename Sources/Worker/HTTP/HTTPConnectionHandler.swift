import Logging
import NIOCore
import NIOHTTP1
import Shared

/// One client connection: parses its requests (`RequestParser`), assembles them within the limits, routes them,
/// writes responses.
///
/// Lifecycle per request: idle → receiving (head seen, body accumulating) → responding → idle. Responses are
/// framed here (`ResponseEncoding`), not by NIO's response encoder. Pipelined requests are answered in order: the
/// bytes of a request that arrive while one is being answered wait in the parser, and reading stops until they are
/// taken up. Reading otherwise goes on during a response, so a connection costs no epoll change per request.
final class HTTPConnectionHandler: ChannelDuplexHandler, ResponseSink {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private enum State {
        case idle
        case receiving(RequestHead, body: ByteBuffer)
        /// The request was refused (413 mid-body, or bytes that are not a request); the connection closes after the
        /// response, and what the client still sends is dropped.
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
    /// The client speaks HTTP/1.1 or later: a stream is sent chunked (to HTTP/1.0, until the connection closes).
    private var clientTakesChunks = true
    /// How the body of the response under way is framed (set by its head).
    private var framing = ResponseEncoding.Framing.contentLength(0)
    private var exchange: RequestExchange?
    /// The key this connection's last request was let in with (`Authenticator`).
    private let authentication = AuthenticationMemo()
    /// A request was counted in `worker.activeRequests` and not yet finished.
    private var requestOpen = false
    /// The `content-length` of the request being received, when it declared one.
    private var declaredBodyBytes: Int?
    /// The requests' bytes as they are read; a pipelined request's wait here while the one before it is answered.
    private var parser: RequestParser
    /// NIO asked to read while a pipelined request waited: the read is issued once it has been taken up.
    private var readHeld = false
    /// `takeUpRequests` is running (a response that ends inside it must not start it again).
    private var takingUpRequests = false
    /// The buffer the last piece of the streamed body went out in, kept for the next piece until the response ends.
    /// NIO has usually written it and let go by then, so clearing it reuses its memory instead of allocating; when
    /// NIO still holds it (the client reads slowly), clearing copies nothing and allocates afresh.
    private var bodyBuffer: ByteBuffer?
    /// A buffer larger than this is not kept: one big piece must not pin memory for the rest of the stream.
    private static let keptBodyBufferLimit = 16 * 1024
    /// Where the responses' bytes go out.
    private let output: ClientOutput

    /// `socket`: the connection's descriptor, which responses are sent to (`ClientOutput`).
    init(worker: WorkerContext, timeouts: ConnectionTimeouts, socket: CInt) {
        self.worker = worker
        self.timeouts = timeouts
        output = ClientOutput(socket: socket, metrics: worker.metrics)
        parser = RequestParser(maxHeadBytes: worker.config.maxHeaderBytes)
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
    }

    // MARK: - Inbound

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        // The rest of a refused request is dropped: the connection closes once the refusal is sent.
        if case .refusing = state { return }
        parser.append(unwrapInboundIn(data))
        takeUpRequests()
    }

    private func receive(_ part: RequestParser.Part, eventLoop: EventLoop) {
        switch part {
        case .head(let head):
            receiveHead(head)
        case .body(var chunk):
            guard case .receiving(let head, var body) = state else { return }
            state = .responding  // avoid a copy-on-write of the body while appending
            guard body.readableBytes + chunk.readableBytes <= worker.config.maxBodyBytes else {
                refuseTooLarge(head)
                return
            }
            if body.readableBytes == 0 {
                // The first piece as it was read: a body that came in one read is not copied.
                body = chunk
            } else {
                // A body in pieces: room for all of it at once rather than a copy at each doubling.
                if let declared = declaredBodyBytes, declared > body.readableBytes {
                    body.reserveCapacity(minimumWritableBytes: declared - body.readableBytes)
                }
                body.writeBuffer(&chunk)
            }
            state = .receiving(head, body: body)
        case .end:
            switch state {
            case .receiving(let head, let body):
                timeouts.requestCompleted()
                state = .responding
                dispatch(head, body: body, eventLoop: eventLoop)
            case .refusing, .responding, .idle:
                break
            }
        }
    }

    private func receiveHead(_ clientHead: ClientRequestHead) {
        guard case .idle = state else { return }
        // A pipelined request's bytes came with the previous one's: its clock starts now.
        timeouts.requestBegan()
        worker.requestStarted()
        requestOpen = true
        let head = RequestHead(head: clientHead, requestID: RandomID.make(prefix: "req_"), receivedAt: .now())
        keepAlive = clientHead.isKeepAlive
        isHeadRequest = clientHead.method == .HEAD
        clientTakesChunks = clientHead.takesChunks
        declaredBodyBytes = clientHead.contentLength
        if let length = declaredBodyBytes, length > worker.config.maxBodyBytes {
            // Refused from the declared length alone: nothing of the body is buffered.
            refuseTooLarge(head)
            return
        }
        if clientHead.expectsContinue {
            writeAndFlush(ResponseEncoding.continueHead)
        }
        state = .receiving(head, body: context?.channel.allocator.buffer(capacity: 0) ?? ByteBuffer())
    }

    private func refuseTooLarge(_ head: RequestHead) {
        state = .refusing
        parser.discardUnparsed()
        keepAlive = false
        let error = GatewayError(.requestTooLarge,
                                 "request body exceeds the limit of \(worker.config.maxBodyBytes) bytes")
        sendError(error, head: head)
    }

    private func dispatch(_ head: RequestHead, body: ByteBuffer, eventLoop: EventLoop) {
        let route = Route.resolve(method: head.head.method, uri: head.head.uri)
        let exchange = RequestExchange(worker: worker, head: head, route: route, sink: self,
                                       authentication: authentication, eventLoop: eventLoop)
        self.exchange = exchange
        exchange.run(body: body)
    }

    /// Lets go of the exchange, and it of this handler (it holds the handler strongly until then).
    private func releaseExchange() {
        exchange?.detachSink()
        exchange = nil
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        exchange?.clientWritabilityChanged(context.channel.isWritable)
        context.fireChannelWritabilityChanged()
    }

    func channelInactive(context: ChannelHandlerContext) {
        exchange?.clientClosed()
        releaseExchange()
        finishRequest()
        state = .idle
        parser.discardUnparsed()
        context.fireChannelInactive()
    }

    /// NIO asks for more bytes (after every read, as the channel reads automatically): held while a pipelined
    /// request waits, so that a client cannot queue requests without limit.
    func read(context: ChannelHandlerContext) {
        guard !pipelinedRequestWaits else {
            readHeld = true
            return
        }
        context.read()
    }

    /// Bytes of a further request were read while this one is answered.
    private var pipelinedRequestWaits: Bool { !acceptsParts && parser.hasUnparsedBytes }

    /// Whether the next request's parts can be taken now: no response is under way or refused.
    private var acceptsParts: Bool {
        switch state {
        case .idle, .receiving: true
        case .responding, .refusing: false
        }
    }

    /// After a read or a response: the parts of the requests read so far are taken up in order, until one is under
    /// way (being answered); with no request left waiting, a held read is issued.
    private func takeUpRequests() {
        guard !takingUpRequests, let context else { return }
        takingUpRequests = true
        defer { takingUpRequests = false }
        while acceptsParts {
            let part: RequestParser.Part?
            do {
                part = try parser.next()
            } catch {
                refuseUnparsable(error, context: context)
                return
            }
            guard let part else { break }
            receive(part, eventLoop: context.eventLoop)
        }
        if readHeld, !pipelinedRequestWaits {
            readHeld = false
            context.read()
        }
    }

    /// Bytes that are not a request (or a head over `MAX_HEADER_BYTES`): a 400 (431), then the connection closes.
    private func refuseUnparsable(_ error: RequestParseError, context: ChannelHandlerContext) {
        worker.logger.debug("unparsable request", metadata: ["error": "\(error)"])
        state = .refusing
        keepAlive = false
        finishRequest()
        writeAndFlush(error == .headTooLarge ? ResponseEncoding.headTooLarge : ResponseEncoding.badRequest)
        let channel = context.channel
        output.allSent(context: context).whenComplete { _ in channel.close(promise: nil) }
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
        // A stream: chunked to HTTP/1.1 clients; to an HTTP/1.0 client it ends when the connection closes.
        framing = clientTakesChunks ? .chunked : .untilClose
        if !clientTakesChunks { keepAlive = false }
        var buffer = context.channel.allocator.buffer(capacity: 512)
        ResponseEncoding.writeHead(status: status, headers: headers, framing: framing, persistence: persistence,
                                   into: &buffer)
        output.write(buffer)
    }

    func sendBody(_ bytes: UnsafeRawBufferPointer) {
        guard let context, !isHeadRequest, !bytes.isEmpty else { return }
        let capacity = bytes.count + 12
        var buffer: ByteBuffer
        if var kept = bodyBuffer.take() {
            kept.clear(minimumCapacity: capacity)
            buffer = kept
        } else {
            buffer = context.channel.allocator.buffer(capacity: capacity)
        }
        if framing == .chunked {
            ResponseEncoding.writeChunk(bytes, into: &buffer)
        } else {
            buffer.writeBytes(bytes)
        }
        output.writeAndFlush(buffer, context: context)
        if buffer.capacity <= Self.keptBodyBufferLimit { bodyBuffer = buffer }
    }

    func sendEnd() {
        guard let context else { return }
        if framing == .chunked, !isHeadRequest {
            var buffer = context.channel.allocator.buffer(capacity: ResponseEncoding.lastChunk.utf8CodeUnitCount)
            buffer.writeStaticString(ResponseEncoding.lastChunk)
            output.write(buffer)
        }
        finishResponse(context)
    }

    func sendResponse(status: HTTPResponseStatus, headers: HTTPHeaders, body: [UInt8]) {
        guard let context else { return }
        framing = .contentLength(body.count)
        var buffer = context.channel.allocator.buffer(capacity: 512 + body.count)
        ResponseEncoding.writeHead(status: status, headers: headers, framing: framing, persistence: persistence,
                                   into: &buffer)
        if !isHeadRequest { buffer.writeBytes(body) }
        output.write(buffer)
        finishResponse(context)
    }

    /// What the head of the response under way says of the connection.
    private var persistence: ResponseEncoding.Persistence {
        if closesAfterResponse { return .close }
        return clientTakesChunks ? .implied : .keepAlive
    }

    /// Whether the connection closes once the response under way has been sent.
    private var closesAfterResponse: Bool {
        // The rest of a refused body may still be arriving: the connection cannot be reused.
        if case .refusing = state { return true }
        return !keepAlive || worker.isDraining
    }

    /// The response is written: flushes it, then closes the connection or takes up the next request.
    private func finishResponse(_ context: ChannelHandlerContext) {
        releaseExchange()
        bodyBuffer = nil
        finishRequest()
        timeouts.awaitNextRequest()
        guard !closesAfterResponse else {
            parser.discardUnparsed()
            // Closed once everything written before has gone out (writes complete in order).
            let channel = context.channel
            output.allSent(context: context).whenComplete { _ in channel.close(promise: nil) }
            return
        }
        state = .idle
        output.flush(context: context)
        takeUpRequests()
    }

    private func writeAndFlush(_ bytes: StaticString) {
        guard let context else { return }
        var buffer = context.channel.allocator.buffer(capacity: bytes.utf8CodeUnitCount)
        buffer.writeStaticString(bytes)
        output.writeAndFlush(buffer, context: context)
    }

    private func finishRequest() {
        guard requestOpen else { return }
        requestOpen = false
        worker.requestFinished()
    }

    private func sendError(_ error: GatewayError, head: RequestHead) {
        let headers = HTTPHeaders([("content-type", "application/json"), ("request-id", head.requestID)])
        sendResponse(status: HTTPResponseStatus(statusCode: error.status), headers: headers,
                     body: error.body(requestID: head.requestID))
    }
}

/// A request head with what the gateway adds on arrival.
struct RequestHead {
    var head: ClientRequestHead
    var requestID: String
    var receivedAt: NIODeadline
}

/// Sent down every connection's pipeline when the worker drains: idle connections close at once, busy ones
/// after their response.
struct DrainEvent {}
