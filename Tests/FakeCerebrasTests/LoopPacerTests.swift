import Glibc
import NIOCore
import NIOPosix
import TestSupport
import XCTest

@testable import FakeCerebras

/// The fake's pacer on a real event loop: it wakes each waiting response at its time, and the loop reads its sockets
/// between two wake-ups even when every response is behind its schedule.
final class LoopPacerTests: XCTestCase {
    private var group: MultiThreadedEventLoopGroup!

    override func setUp() {
        group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    }

    override func tearDown() {
        try? group.syncShutdownGracefully()
    }

    /// A stream the loop cannot keep up with: at every wake-up it works for 50 µs (longer than the pacer's breather,
    /// as a stream far behind writes all it owes) and asks again for a time already past. At its fifth wake-up it
    /// writes a byte to a connection served by the same loop. Had it a timer of its own armed that way, NIO would
    /// run it again and again without polling, and the byte would be read after its last wake-up (the 5,000th);
    /// through the pacer it is read at the loop's next poll, before the next wake-up or the one after.
    func testTheLoopReadsItsSocketsWhileAResponseIsAlwaysLate() throws {
        let loop = group.next()
        let progress = LateProgress()
        let accepted = loop.makePromise(of: Void.self)
        let wakesWhenRead = loop.makePromise(of: Int.self)
        let server = try ServerBootstrap(group: group)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(
                        FirstRead(progress: progress, accepted: accepted, wakesWhenRead: wakesWhenRead))
                }
            }
            .bind(host: "127.0.0.1", port: 0).wait()
        defer { try? server.close().wait() }
        let connection = try TestConnection(port: try XCTUnwrap(server.localAddress?.port))
        let client = connection.fd
        try accepted.futureResult.wait()

        let limit = 5_000
        let finished = loop.makePromise(of: Int.self)
        try loop.submit {
            AlwaysLate(pacer: LoopPacer(loop: loop), progress: progress, limit: limit, writeAtWake: 5, to: client,
                       finished: finished).start()
        }.wait()

        let read = try wakesWhenRead.futureResult.wait()
        XCTAssertEqual(try loop.submit { progress.bytesSent }.wait(), 1)
        XCTAssertGreaterThanOrEqual(read, 5, "read before the byte was written")
        XCTAssertLessThan(read, 100, "the byte was read \(read - 5) wake-ups after it was written")
        // And the late response is woken until it stops asking.
        XCTAssertEqual(try finished.futureResult.wait(), limit)
        withExtendedLifetime(connection) {}
    }

    /// Responses waiting for later times are woken in the order of their times, none before its own.
    func testWaitersAreWokenAtTheirTimesInOrder() throws {
        let loop = group.next()
        let done = loop.makePromise(of: [Wake].self)
        try loop.submit {
            let pacer = LoopPacer(loop: loop)
            let log = WakeLog(expecting: 3, done: done)
            let start = NIODeadline.now()
            for (name, milliseconds) in [("third", 60), ("first", 20), ("second", 40)] {
                let waiter = OneWake(name: name, deadline: start + .milliseconds(Int64(milliseconds)), log: log)
                waiter.ticket = pacer.wake(waiter, at: waiter.deadline)
            }
        }.wait()
        let wakes = try done.futureResult.wait()
        XCTAssertEqual(wakes.map(\.name), ["first", "second", "third"])
        for wake in wakes { XCTAssertGreaterThanOrEqual(wake.lateByNanoseconds, 0, "\(wake.name) woken early") }
    }
}

/// How far the always-late response has got. Touched on the loop only.
private final class LateProgress: @unchecked Sendable {
    var wakes = 0
    var bytesSent = 0
}

/// Reports the connection up, and how many wake-ups the late response had had when the first bytes were read.
private final class FirstRead: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer

    private let progress: LateProgress
    private let accepted: EventLoopPromise<Void>
    private let wakesWhenRead: EventLoopPromise<Int>

    init(progress: LateProgress, accepted: EventLoopPromise<Void>, wakesWhenRead: EventLoopPromise<Int>) {
        self.progress = progress
        self.accepted = accepted
        self.wakesWhenRead = wakesWhenRead
    }

    func channelActive(context: ChannelHandlerContext) {
        accepted.succeed()
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        wakesWhenRead.succeed(progress.wakes)
    }
}

/// Always behind its schedule: asks to be woken at a time already past, `limit` times.
private final class AlwaysLate: PacedHandler {
    private let pacer: LoopPacer
    private let progress: LateProgress
    private let limit: Int
    private let writeAtWake: Int
    private let descriptor: CInt
    private let finished: EventLoopPromise<Int>
    private var ticket: UInt64?

    init(pacer: LoopPacer, progress: LateProgress, limit: Int, writeAtWake: Int, to descriptor: CInt,
         finished: EventLoopPromise<Int>) {
        self.pacer = pacer
        self.progress = progress
        self.limit = limit
        self.writeAtWake = writeAtWake
        self.descriptor = descriptor
        self.finished = finished
    }

    func start() {
        askAgain()
    }

    func wake(ticket: UInt64) {
        guard ticket == self.ticket else { return }
        progress.wakes += 1
        let busyUntil = NIODeadline.now() + .microseconds(50)
        while NIODeadline.now() < busyUntil {}
        if progress.wakes == writeAtWake { progress.bytesSent = send(descriptor, "x", 1, 0) }
        if progress.wakes < limit {
            askAgain()
        } else {
            finished.succeed(progress.wakes)
        }
    }

    private func askAgain() {
        ticket = pacer.wake(self, at: .now() - .milliseconds(1))
    }
}

private struct Wake: Sendable {
    let name: String
    let lateByNanoseconds: Int64
}

private final class WakeLog {
    private var wakes: [Wake] = []
    private let expecting: Int
    private let done: EventLoopPromise<[Wake]>

    init(expecting: Int, done: EventLoopPromise<[Wake]>) {
        self.expecting = expecting
        self.done = done
    }

    func record(_ wake: Wake) {
        wakes.append(wake)
        if wakes.count == expecting { done.succeed(wakes) }
    }
}

private final class OneWake: PacedHandler {
    let name: String
    let deadline: NIODeadline
    private let log: WakeLog
    var ticket: UInt64?

    init(name: String, deadline: NIODeadline, log: WakeLog) {
        self.name = name
        self.deadline = deadline
        self.log = log
    }

    func wake(ticket: UInt64) {
        guard ticket == self.ticket else { return }
        self.ticket = nil
        log.record(Wake(name: name, lateByNanoseconds: (NIODeadline.now() - deadline).nanoseconds))
    }
}
