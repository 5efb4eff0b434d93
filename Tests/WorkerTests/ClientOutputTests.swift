import Glibc
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import Shared
import XCTest

@testable import Worker

/// `ClientOutput`: a channel over one end of a real socket pair, the test reading (or not) at the other end.
final class ClientOutputTests: SingleLoopTestCase {
    /// Gives the test the channel's context, on the loop.
    private final class ContextHolder: ChannelInboundHandler, @unchecked Sendable {
        typealias InboundIn = ByteBuffer
        var context: ChannelHandlerContext?

        func handlerAdded(context: ChannelHandlerContext) { self.context = context }
    }

    /// Holds the writes NIO is handed while closed, as NIO holds them while a socket drains, until opened.
    private final class Gate: ChannelOutboundHandler, @unchecked Sendable {
        typealias OutboundIn = ByteBuffer
        private var held: [(NIOAny, EventLoopPromise<Void>?)] = []
        var isClosed = false

        func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
            if isClosed { held.append((data, promise)) } else { context.write(data, promise: promise) }
        }

        func flush(context: ChannelHandlerContext) {
            if !isClosed { context.flush() }
        }

        func open(context: ChannelHandlerContext) {
            isClosed = false
            for (data, promise) in held { context.write(data, promise: promise) }
            held.removeAll()
            context.flush()
        }
    }

    private var served: CInt = -1
    private var peer: CInt = -1
    private var channel: Channel!
    private let holder = ContextHolder()
    private let gate = Gate()
    private let metrics = WorkerMetrics()
    private var output: ClientOutput!

    override func setUp() {
        super.setUp()
        var pair: [CInt] = [0, 0]
        XCTAssertEqual(socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &pair), 0)
        (served, peer) = (pair[0], pair[1])
        // Small buffers, so that a few pieces fill the socket.
        var size: Int32 = 4096
        setsockopt(served, SOL_SOCKET, SO_SNDBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        setsockopt(peer, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        let (holder, gate) = (holder, gate)
        channel = try? ClientBootstrap(group: loop)
            .channelInitializer { $0.pipeline.addHandlers([gate, holder]) }
            .withConnectedSocket(served).wait()
        output = ClientOutput(socket: served, metrics: metrics)
    }

    override func tearDown() {
        _ = try? channel?.close().wait()
        close(peer)
        super.tearDown()
    }

    /// Runs `body` with the channel's context, on the loop.
    private func onLoop(_ body: @escaping (ChannelHandlerContext, ClientOutput) -> Void) throws {
        let holder = holder
        let output = output!
        try loop.submit { body(holder.context!, output) }.wait()
    }

    private func piece(_ number: Int, size: Int = 4096) -> ByteBuffer {
        ByteBuffer(bytes: (0..<size).map { UInt8(truncatingIfNeeded: number &* 31 &+ $0 % 7) })
    }

    /// Reads exactly `count` bytes from the peer (failing after 10 s).
    private func readFromPeer(_ count: Int) -> [UInt8] {
        var timeout = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(peer, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var bytes = [UInt8](repeating: 0, count: count)
        var filled = 0
        while filled < count {
            let got = bytes.withUnsafeMutableBytes { read(peer, $0.baseAddress! + filled, count - filled) }
            guard got > 0 else { break }
            filled += got
        }
        return Array(bytes[..<filled])
    }

    private var stalls: Double {
        metrics.current().counters[MetricsSnapshot.Series(MetricFamily.clientWriteStalls.name)] ?? 0
    }

    func testAStagedHeadLeavesWithTheFirstPieceAfterIt() throws {
        try onLoop { context, output in
            output.write(ByteBuffer(string: "HTTP/1.1 200 OK\r\n\r\n"))
            output.writeAndFlush(ByteBuffer(string: "first"), context: context)
            output.writeAndFlush(ByteBuffer(string: "second"), context: context)
        }
        XCTAssertEqual(String(decoding: readFromPeer(30), as: UTF8.self), "HTTP/1.1 200 OK\r\n\r\nfirstsecond")
        XCTAssertEqual(stalls, 0)
    }

    /// A client that does not read: the socket fills, the rest waits in NIO, later writes wait behind it, and the
    /// client gets every byte once and in order when it reads; then sends go straight to the socket again.
    func testWhatTheSocketCannotTakeWaitsInNIOAndEverythingArrivesInOrder() throws {
        let pieces = 64
        try onLoop { context, output in
            for number in 0..<pieces { output.writeAndFlush(self.piece(number), context: context) }
        }
        XCTAssertEqual(stalls, 1, "one stall: the writes after it waited in NIO without trying the socket")
        let expected = (0..<pieces).flatMap { Array(piece($0).readableBytesView) }
        let received = readFromPeer(expected.count)
        XCTAssertEqual(received.count, expected.count)
        XCTAssertTrue(received == expected, "bytes lost, repeated or out of order")

        let allSent = loop.makePromise(of: Void.self)
        try onLoop { context, output in output.allSent(context: context).cascade(to: allSent) }
        try allSent.futureResult.wait()
        try onLoop { context, output in output.writeAndFlush(self.piece(pieces, size: 100), context: context) }
        XCTAssertEqual(readFromPeer(100), Array(piece(pieces, size: 100).readableBytesView))
        XCTAssertEqual(stalls, 1)
    }

    /// While NIO still holds bytes, later ones go after them even when the socket has room again; and the
    /// connection counts as all sent only once NIO has written them.
    func testBytesWrittenWhileNIOHoldsSomeGoAfterThem() throws {
        let gate = gate
        try onLoop { context, output in
            gate.isClosed = true
            // More than the socket takes: the rest goes to NIO, which holds it (the gate) as a draining socket would.
            for number in 0..<8 { output.writeAndFlush(self.piece(number), context: context) }
        }
        XCTAssertEqual(stalls, 1)
        // Whatever the socket took, read: it has room now, but NIO still holds the rest.
        var received: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        var nonBlocking = fcntl(peer, F_GETFL)
        nonBlocking |= O_NONBLOCK
        XCTAssertEqual(fcntl(peer, F_SETFL, nonBlocking), 0)
        while true {
            let got = chunk.withUnsafeMutableBytes { read(peer, $0.baseAddress!, $0.count) }
            guard got > 0 else { break }
            received += chunk[..<got]
        }
        XCTAssertEqual(fcntl(peer, F_SETFL, nonBlocking & ~O_NONBLOCK), 0)
        let allSent = loop.makePromise(of: Void.self)
        let sentEarly = NIOLockedValueBox(false)
        try onLoop { context, output in
            output.writeAndFlush(ByteBuffer(string: "last"), context: context)
            let sent = output.allSent(context: context)
            sent.whenComplete { _ in sentEarly.withLockedValue { $0 = true } }
            sent.cascade(to: allSent)
        }
        XCTAssertFalse(sentEarly.withLockedValue { $0 }, "all sent while NIO still held bytes")
        try onLoop { context, _ in gate.open(context: context) }
        let expected = (0..<8).flatMap { Array(piece($0).readableBytesView) } + Array("last".utf8)
        received += readFromPeer(expected.count - received.count)
        XCTAssertTrue(received == expected, "bytes out of order")
        try allSent.futureResult.wait()
    }

    /// Once NIO has closed the connection its descriptor's number may already name another file (the accept thread
    /// reuses numbers); nothing may be written to it.
    func testAClosedConnectionsDescriptorNumberIsNeverWrittenTo() throws {
        // Another connection, made while the socket is open so that neither end takes its number.
        var other: [CInt] = [0, 0]
        XCTAssertEqual(socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &other), 0)
        defer { close(other[1]) }
        XCTAssertEqual(fcntl(other[1], F_SETFL, O_NONBLOCK), 0)
        try channel.close().wait()
        // The closed socket's number now names one end of that other connection.
        XCTAssertEqual(dup2(other[0], served), served)
        close(other[0])
        defer { close(served) }
        try onLoop { context, output in output.writeAndFlush(ByteBuffer(string: "late"), context: context) }
        var byte: UInt8 = 0
        XCTAssertEqual(read(other[1], &byte, 1), -1, "bytes reached a connection that took the closed socket's number")
        XCTAssertEqual(errno, EAGAIN)
    }
}
