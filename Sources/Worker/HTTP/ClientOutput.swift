import Glibc
import NIOCore

/// The bytes of a connection's responses on their way to the client: sent straight to the connection's socket when
/// NIO holds none of them, through NIO's channel otherwise.
///
/// A write through the channel (the pipeline, NIO's queue of pending writes, the flush, the state checks and
/// promises around the system call) costs a worker about 2,400 instructions, a tenth of a relayed chunk's
/// (BENCHMARKS.md, "Forty-second round"). The worker accepts its connections itself (`AcceptThread`), so it knows
/// each one's descriptor, and a flush sends with one non-blocking `send` instead. Whatever the kernel does not take
/// at once goes to NIO as before: the rest of a partial send, or all of it on `EAGAIN` (a client reading slowly),
/// which NIO queues and writes as the socket drains, telling the handler of writability as it always has; and the
/// bytes of a send that failed, so that NIO meets the error and closes the channel in its usual way. Until NIO has
/// written everything it was given, everything after goes through NIO too, so bytes leave in the order written.
///
/// The descriptor is used only while the channel is active, and only on the channel's loop. NIO closes it inside
/// its own close, on that loop, before the channel stops being active and with no user code in between; so a
/// number the accept thread may already have reused for another connection is never written to.
///
/// `@unchecked Sendable`: used on the channel's loop only, where NIO also completes the writes it was handed.
final class ClientOutput: @unchecked Sendable {
    /// The connection's socket.
    private let socket: CInt
    private let metrics: WorkerMetrics
    /// Written and not yet flushed (a response head, sent with the first piece of its body).
    private var staged: ByteBuffer?
    /// Writes handed to NIO that have not completed.
    private var writesInNIO = 0
    /// The last of them, which completes after every earlier one (NIO completes writes in order).
    private var lastWriteInNIO: EventLoopFuture<Void>?

    init(socket: CInt, metrics: WorkerMetrics) {
        self.socket = socket
        self.metrics = metrics
    }

    /// Keeps `buffer` for the next flush.
    func write(_ buffer: ByteBuffer) {
        guard var staged = staged.take() else {
            staged = buffer
            return
        }
        staged.writeImmutableBuffer(buffer)
        self.staged = staged
    }

    /// Sends what is staged, then `buffer`.
    func writeAndFlush(_ buffer: ByteBuffer, context: ChannelHandlerContext) {
        if staged == nil {
            send(buffer, context: context)
        } else {
            write(buffer)
            flush(context: context)
        }
    }

    /// Sends what is staged.
    func flush(context: ChannelHandlerContext) {
        guard let buffer = staged.take() else { return }
        send(buffer, context: context)
    }

    /// Flushes; completes once every byte written has been handed to the kernel (at once when NIO holds none).
    func allSent(context: ChannelHandlerContext) -> EventLoopFuture<Void> {
        flush(context: context)
        return lastWriteInNIO ?? context.eventLoop.makeSucceededVoidFuture()
    }

    private func send(_ buffer: ByteBuffer, context: ChannelHandlerContext) {
        var buffer = buffer
        if writesInNIO == 0, context.channel.isActive {
            let sent = buffer.withUnsafeReadableBytes { bytes in
                Glibc.send(socket, bytes.baseAddress, bytes.count, Int32(MSG_NOSIGNAL) | Int32(MSG_DONTWAIT))
            }
            if sent == buffer.readableBytes { return }
            // A socket that took part or none is full: the client reads slower than the answer comes. Any other
            // failure is NIO's to meet with the same bytes.
            if sent >= 0 || errno == EAGAIN || errno == EWOULDBLOCK {
                metrics.increment(.clientWriteStalls)
                buffer.moveReaderIndex(forwardBy: max(sent, 0))
            }
        }
        handToNIO(buffer, context: context)
    }

    /// NIO writes `buffer` after whatever it holds already, and what is written later waits for it.
    private func handToNIO(_ buffer: ByteBuffer, context: ChannelHandlerContext) {
        let promise = context.eventLoop.makePromise(of: Void.self)
        writesInNIO += 1
        lastWriteInNIO = promise.futureResult
        promise.futureResult.whenComplete { [self] _ in
            writesInNIO -= 1
            if writesInNIO == 0 { lastWriteInNIO = nil }
        }
        context.writeAndFlush(NIOAny(buffer), promise: promise)
    }
}
