import NIOCore
import NIOHTTP1

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One connection: collects each request, routes it, and plays its `ResponseScript` on the event loop.
///
/// Playback is a pump: write every step that is due, then either wait for the next deadline, for
/// writability, or yield after a burst so other connections on the loop get their turn; the loop's
/// `LoopPacer` calls it back for the deadline and after the burst. Everything runs on the channel's
/// event loop, so no locking here.
final class FakeHTTPHandler: ChannelInboundHandler, RemovableChannelHandler, PacedHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private enum Phase {
        case idle
        case receiving(HTTPRequestHead)
        case responding
        /// The script said `hang`: keep the connection open, send nothing more.
        case hanging
        case closed
    }

    /// Events written per pump before yielding to the loop (only reached when nothing is paced).
    private static let burst = 64

    private let services: FakeServices
    private let pacer: LoopPacer
    private var context: ChannelHandlerContext?
    private var phase = Phase.idle
    private var body: ByteBuffer?
    private var script: ResponseScript?
    private var tracked = false
    private var keepAlive = true
    private var waitingForWritability = false
    /// The pacer's wake-up this handler waits for, if any.
    private var pacerTicket: UInt64?

    init(services: FakeServices, pacer: LoopPacer) {
        self.services = services
        self.pacer = pacer
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        cancelScheduled()
        self.context = nil
    }

    // MARK: - Inbound

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            phase = .receiving(head)
            body = nil
            // libcurl sends `Expect: 100-continue` for larger bodies and stalls a second without this.
            if head.headers.first(name: "expect")?.lowercased() == "100-continue" {
                context.writeAndFlush(
                    wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: .continue))),
                    promise: nil
                )
            }
        case .body(var chunk):
            if body == nil {
                body = chunk
            } else {
                body!.writeBuffer(&chunk)
            }
        case .end:
            guard case .receiving(let head) = phase else { return }
            let routed = FakeRouter.route(head: head, body: body ?? ByteBuffer(), services: services)
            body = nil
            keepAlive = head.isKeepAlive
            tracked = routed.tracked
            script = routed.script
            script?.begin(at: .now())
            phase = .responding
            pump()
        }
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable, waitingForWritability {
            waitingForWritability = false
            pump()
        }
        context.fireChannelWritabilityChanged()
    }

    func channelInactive(context: ChannelHandlerContext) {
        switch phase {
        case .responding, .hanging:
            // The client left mid-response: this is what `cancelled` counts.
            if tracked { services.stats.cancelled() }
        case .idle, .receiving, .closed:
            break
        }
        phase = .closed
        script = nil
        cancelScheduled()
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        // Resets and broken pipes end up here; channelInactive does the accounting.
        context.close(promise: nil)
    }

    // MARK: - Playback

    private func pump() {
        guard let context else { return }
        var budget = Self.burst
        var unflushed = false
        loop: while case .responding = phase {
            guard context.channel.isWritable else {
                waitingForWritability = true
                break
            }
            guard budget > 0 else {
                // Yield so one fast stream cannot starve the other connections on this loop, nor the loop's
                // sockets: the pacer's next wake-up comes after the loop has polled them.
                schedule(at: .now())
                break
            }
            let now = NIODeadline.now()
            guard let next = script?.next(now: now) else { break }
            switch next {
            case .wait(let deadline):
                schedule(at: deadline)
                break loop
            case .finished:
                finishResponse(context: context)
                return
            case .step(.head(var head)):
                if !keepAlive { head.headers.replaceOrAdd(name: "connection", value: "close") }
                context.write(wrapOutboundOut(.head(head)), promise: nil)
                unflushed = true
            case .step(.event(let buffer, _)):
                context.write(wrapOutboundOut(.body(.byteBuffer(buffer))), promise: nil)
                budget -= 1
                unflushed = true
                if let script, script.flushEachEvent {
                    // One flush per chunk, as a real upstream delivers each token in its own write,
                    // unless the stream is late and the next chunk is already due (see ResponseScript).
                    if !script.coalesceLateEvents || (script.nextDue ?? now) > now {
                        context.flush()
                        unflushed = false
                    }
                }
            case .step(.end):
                finishResponse(context: context)
                return
            case .step(.drop(let reset)):
                if unflushed { context.flush() }
                drop(context: context, reset: reset)
                return
            case .step(.hang):
                phase = .hanging
                script = nil
            }
        }
        if unflushed { context.flush() }
    }

    private func finishResponse(context: ChannelHandlerContext) {
        // Accounting first: writing `.end` may fail and close the channel synchronously.
        if tracked { services.stats.completed() }
        script = nil
        phase = .idle
        if keepAlive {
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        } else {
            phase = .closed
            context.writeAndFlush(wrapOutboundOut(.end(nil))).assumeIsolated().whenComplete { _ in
                context.close(promise: nil)
            }
        }
    }

    private func drop(context: ChannelHandlerContext, reset: Bool) {
        if tracked { services.stats.completed() }
        script = nil
        phase = .closed
        if reset {
            // SO_LINGER 0 turns close() into an RST, the rudest way a peer can vanish.
            // On the event loop this applies synchronously, before the close below.
            _ = (context.channel as? SocketOptionProvider)?.setSoLinger(linger(l_onoff: 1, l_linger: 0))
        }
        context.close(promise: nil)
    }

    private func schedule(at deadline: NIODeadline) {
        guard context != nil else { return }
        pacerTicket = pacer.wake(self, at: deadline)
    }

    private func cancelScheduled() {
        pacerTicket = nil
    }

    /// The pacer's wake-up: pumps if it is the one this handler still waits for.
    func wake(ticket: UInt64) {
        guard ticket == pacerTicket else { return }
        pacerTicket = nil
        pump()
    }
}

@available(*, unavailable)
extension FakeHTTPHandler: Sendable {}
