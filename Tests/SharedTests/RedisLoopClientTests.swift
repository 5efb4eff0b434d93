import Foundation
import Logging
import NIOCore
import NIOPosix
import XCTest

@testable import Shared

/// A client on the caller's own event loops: each loop's commands go out on its own connection, are answered on
/// that loop, and what one loop round sends is pipelined.
final class RedisLoopClientTests: RedisServerTestCase {
    private var group: MultiThreadedEventLoopGroup!

    override func setUp() {
        super.setUp()
        group = MultiThreadedEventLoopGroup(numberOfThreads: 2)
    }

    override func tearDown() {
        try? group.syncShutdownGracefully()
        super.tearDown()
    }

    private func clientOnTheGroup(_ server: RedisServerProcess, convenientFlushDelayMilliseconds: Int = 1,
                                  healthCheckIntervalMilliseconds: Int = 1_000) -> RedisClient
    {
        var logger = Logger(label: "test.redis")
        logger.logLevel = .critical
        let configuration = RedisClient.Configuration(
            url: server.url(), timeoutMilliseconds: 2_000,
            healthCheckIntervalMilliseconds: healthCheckIntervalMilliseconds,
            convenientFlushDelayMilliseconds: convenientFlushDelayMilliseconds)
        let client = RedisClient(configuration: configuration, logger: logger,
                                 eventLoops: group.makeIterator().map { $0 })
        addTeardownBlock { client.shutdown() }
        XCTAssertTrue(client.waitUntilReady())
        XCTAssertTrue(WaitForCallback.until(timeout: 10) { client.isConnected })
        return client
    }

    func testCommandsSentOnALoopAreAnsweredOnThatLoopInOrder() throws {
        let server = try startServer()
        let client = clientOnTheGroup(server)
        for loop in group.makeIterator() {
            // 300 commands in one loop round: they leave together and come back in order, each on its loop.
            let replies = try loop.submit { () -> EventLoopFuture<[Int]> in
                var futures: [EventLoopFuture<Int>] = []
                for _ in 0..<300 {
                    let promise = loop.makePromise(of: Int.self)
                    client.send(["INCR", "per-loop"]) { result in
                        guard loop.inEventLoop, case .success(.integer(let value)) = result else {
                            return promise.fail(RedisError.unexpectedReply("\(result) on the wrong thread?"))
                        }
                        promise.succeed(value)
                    }
                    futures.append(promise.futureResult)
                }
                return EventLoopFuture.whenAllSucceed(futures, on: loop)
            }.wait().wait()
            XCTAssertEqual(replies, Array(replies.sorted()), "replies out of order")
            XCTAssertEqual(Set(replies).count, 300)
        }
        XCTAssertEqual(client.sendAndWait(["GET", "per-loop"]), .success(.bulk(Array("600".utf8))))
        // One connection per loop, as `CLIENT LIST` on the server sees it (plus none other from this client).
        guard case .success(.bulk(let list)) = client.sendAndWait(["CLIENT", "LIST"]) else {
            return XCTFail("CLIENT LIST failed")
        }
        let lines = String(decoding: list, as: UTF8.self).split(separator: "\n")
        XCTAssertEqual(lines.count, 2, String(decoding: list, as: UTF8.self))
    }

    /// A command that can wait (a cache store) leaves on its own once the convenient-flush delay has passed, and
    /// with the next command's write when one comes sooner: redis-server then reads the two at once.
    func testACommandThatCanWaitLeavesWithTheNextWriteOrAfterTheDelay() throws {
        let server = try startServer()
        // A long delay, so that "sooner" and "after" cannot be confused on a busy machine.
        let delay = 2_000
        // No health-check PING from an idle connection may land among the reads counted.
        let client = clientOnTheGroup(server, convenientFlushDelayMilliseconds: delay,
                                      healthCheckIntervalMilliseconds: 600_000)
        var loops = group.makeIterator()
        let loop = try XCTUnwrap(loops.next())
        func reads() throws -> Int {
            guard case .success(.bulk(let info)) = client.sendAndWait(["INFO", "stats"]),
                let line = String(decoding: info, as: UTF8.self).split(separator: "\r\n")
                    .first(where: { $0.hasPrefix("total_reads_processed:") }),
                let count = Int(line.dropFirst("total_reads_processed:".count))
            else { throw RedisError.unexpectedReply("INFO stats") }
            return count
        }
        /// Sends `args` on `loop` as a command that can wait; the future gives its reply and the time it took.
        func sendCanWait(_ args: [String]) -> EventLoopFuture<(RedisReply, Double)> {
            let promise = loop.makePromise(of: (RedisReply, Double).self)
            let sent = Date()
            client.send(args.map { Array($0.utf8) }, canWait: true) { result in
                promise.completeWith(result.map { ($0, Date().timeIntervalSince(sent)) }.mapError { $0 as Error })
            }
            return promise.futureResult
        }

        let (alone, waited) = try loop.submit { sendCanWait(["SET", "alone", "1"]) }.wait().wait()
        XCTAssertEqual(alone, .status("OK"))
        XCTAssertGreaterThanOrEqual(waited, Double(delay) / 1_000 * 0.99, "left before the delay with nothing to ride on")

        let before = try reads()
        let (stored, read) = try loop.submit { () -> EventLoopFuture<((RedisReply, Double), RedisReply)> in
            let stored = sendCanWait(["SET", "along", "2"])
            // The next command comes in a later round of the loop, well within the delay.
            let read = loop.makePromise(of: RedisReply.self)
            loop.execute {
                client.send(["GET", "alone"]) { read.completeWith($0.mapError { $0 as Error }) }
            }
            return stored.and(read.futureResult)
        }.wait().wait()
        XCTAssertEqual(stored.0, .status("OK"))
        XCTAssertLessThan(stored.1, Double(delay) / 1_000, "waited for the delay although a write came along")
        XCTAssertEqual(read, .bulk(Array("1".utf8)))
        // One read for the two commands, one for the second INFO.
        XCTAssertEqual(try reads() - before, 2)
    }

    func testAServerKilledUnderALoopFailsItsCommandsAndEveryLoopReconnects() throws {
        let server = try startServer()
        let client = clientOnTheGroup(server)
        server.stop()
        XCTAssertTrue(WaitForCallback.until(timeout: 10) { client.state == .down })
        for loop in group.makeIterator() {
            let result = try loop.submit { () -> EventLoopFuture<Result<RedisReply, RedisError>> in
                let promise = loop.makePromise(of: Result<RedisReply, RedisError>.self)
                client.send(["PING"]) { promise.succeed($0) }
                return promise.futureResult
            }.wait().wait()
            guard case .failure(.unavailable) = result else { return XCTFail("expected .unavailable, got \(result)") }
        }
        try server.start()
        XCTAssertTrue(WaitForCallback.until(timeout: 15) { client.isConnected }, "not every loop reconnected")
        XCTAssertEqual(client.sendAndWait(["PING"]), .success(.status("PONG")))
    }

    func testRESPEncoding() {
        var buffer = ByteBufferAllocator().buffer(capacity: 64)
        RESPEncoder.write([Array("SET".utf8), Array("k".utf8), [0, 13, 10], []], into: &buffer)
        XCTAssertEqual(Array(buffer.readableBytesView),
                       Array("*4\r\n$3\r\nSET\r\n$1\r\nk\r\n$3\r\n".utf8) + [0, 13, 10] + Array("\r\n$0\r\n\r\n".utf8))
        var long = ByteBufferAllocator().buffer(capacity: 0)
        RESPEncoder.write([[UInt8](repeating: 65, count: 1234567)], into: &long)
        XCTAssertEqual(Array(long.readableBytesView.prefix(13)), Array("*1\r\n$1234567\r\n".utf8.prefix(13)))
        XCTAssertEqual(long.readableBytes, 4 + 10 + 1_234_567 + 2)

        // Appended after what the buffer holds, at exactly the size announced (ten arguments: a two-digit count).
        let ten = (0..<10).map { Array(String(repeating: "v", count: $0).utf8) }
        let before = buffer.readableBytes
        RESPEncoder.write(ten, into: &buffer)
        XCTAssertEqual(buffer.readableBytes - before, RESPEncoder.size(of: ten))
        XCTAssertEqual(Array(buffer.readableBytesView.dropFirst(before).prefix(13)), Array("*10\r\n$0\r\n\r\n$1".utf8))
    }

    /// Arguments given as parts (bytes, text, numbers written in place) encode exactly as the same arguments given
    /// as byte arrays, numbers as Redis reads them: decimal, with a minus sign when negative.
    func testRESPArgumentsEncodeAsTheirBytes() {
        let numbers = [0, 7, 9, 10, 99, 100, 12_345, -1, -10, -987_654_321, Int.max, Int.min]
        let command: [RESPArgument] = [.bytes(Array("EVALSHA".utf8)), .text("cgw:rl:{ä€😀}:req"), .text(""), .bytes([])]
            + numbers.map { .decimal($0) }
        let asBytes = [Array("EVALSHA".utf8), Array("cgw:rl:{ä€😀}:req".utf8), [], []] + numbers.map { Array(String($0).utf8) }
        var parts = ByteBufferAllocator().buffer(capacity: 0)
        RESPEncoder.write(command, into: &parts)
        var bytes = ByteBufferAllocator().buffer(capacity: 0)
        RESPEncoder.write(asBytes, into: &bytes)
        XCTAssertEqual(String(decoding: parts.readableBytesView, as: UTF8.self),
                       String(decoding: bytes.readableBytesView, as: UTF8.self))
        XCTAssertEqual(parts.readableBytes, RESPEncoder.size(of: command))

        var batch = RedisCommandBatch(capacity: 0)
        batch.append(command)
        batch.append(asBytes)
        XCTAssertEqual(batch.count, 2)
        XCTAssertEqual(Array(batch.resp.readableBytesView), Array(parts.readableBytesView) + Array(bytes.readableBytesView))
    }
}
