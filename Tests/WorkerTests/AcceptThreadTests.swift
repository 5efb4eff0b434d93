import Glibc
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import TestSupport
import XCTest

@testable import Worker

/// `AcceptThread`: connections accepted on a listening socket the worker was handed, made into channels on
/// the event loops. Driven through a real listener, a real client connection and NIO's bootstrap.
final class AcceptThreadTests: SingleLoopTestCase {
    private struct SetUpFailed: Error {}
    private struct TimedOut: Error {}

    /// A promise that fails by itself after 10 s, so that a connection that never arrives fails the test instead of
    /// hanging it (a second completion is ignored).
    private func promise<Value>(of type: Value.Type) -> EventLoopPromise<Value> {
        let promise = loop.makePromise(of: type)
        loop.scheduleTask(in: .seconds(10)) { promise.fail(TimedOut()) }
        return promise
    }

    /// A connection whose channel NIO made but could not set up is NIO's to close, and only NIO's: closing its
    /// descriptor a second time would close whatever took that number in between. The initializer here closes the
    /// channel itself, puts another open file at the connection's descriptor number, then fails; that file must
    /// still be open afterwards, and the client must see the connection closed.
    func testAConnectionWhoseSetUpFailsIsClosedOnceByNIO() throws {
        let listening = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        XCTAssertGreaterThanOrEqual(listening, 0)
        let port = try XCTUnwrap(Loopback.listen(listening, backlog: 16))
        let listener = try AcceptThread(descriptor: listening)
        let takenOver = promise(of: CInt.self)
        listener.start(loops: [loop]) { channel, _ in
            guard let number = Self.acceptedDescriptor(listenerPort: port) else {
                takenOver.fail(SetUpFailed())
                return channel.eventLoop.makeFailedFuture(SetUpFailed())
            }
            channel.close(promise: nil)
            // The descriptor number, free again, now names something else of this process.
            let other = open("/dev/null", O_RDONLY | O_CLOEXEC)
            if other != number {
                dup2(other, number)
                close(other)
            }
            takenOver.succeed(number)
            return channel.eventLoop.makeFailedFuture(SetUpFailed())
        }
        defer { _ = try? listener.stop()?.wait() }

        let client = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(client) }
        XCTAssertEqual(Loopback.connect(client, port: port), 0)
        let number = try takenOver.futureResult.wait()
        defer { close(number) }
        // The adoption's task has finished once a later task on the same loop runs.
        try loop.submit {}.wait()

        XCTAssertNotEqual(fcntl(number, F_GETFD), -1, "the connection's descriptor number was closed a second time")
        var byte: UInt8 = 0
        var timeout = timeval(tv_sec: 5, tv_usec: 0)
        setsockopt(client, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        XCTAssertEqual(read(client, &byte, 1), 0, "the client should see the connection closed")
    }

    /// A connection set up normally is served on the loop: the initializer runs once per connection, on that loop.
    func testAcceptedConnectionsBecomeChannelsOnTheLoop() throws {
        let listening = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        XCTAssertGreaterThanOrEqual(listening, 0)
        let port = try XCTUnwrap(Loopback.listen(listening, backlog: 16))
        let listener = try AcceptThread(descriptor: listening)
        let loop = self.loop
        let channels = NIOLockedValueBox<[Channel]>([])
        let bothMade = promise(of: Void.self)
        listener.start(loops: [loop]) { channel, _ in
            XCTAssertTrue(loop.inEventLoop)
            let count = channels.withLockedValue { $0.append(channel); return $0.count }
            if count == 2 { bothMade.succeed(()) }
            return channel.eventLoop.makeSucceededVoidFuture()
        }
        defer { _ = try? listener.stop()?.wait() }

        let clients = (0..<2).map { _ in socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0) }
        defer { clients.forEach { close($0) } }
        for client in clients { XCTAssertEqual(Loopback.connect(client, port: port), 0) }
        try bothMade.futureResult.wait()
        for channel in channels.withLockedValue({ $0 }) {
            XCTAssertTrue(try channel.eventLoop.submit { channel.isActive }.wait())
            try channel.close().wait()
        }
    }

    /// The descriptor of the one accepted connection: a socket of this process bound to the listener's port that has
    /// a peer (the listener itself has none; the test's client is bound to another port).
    private static func acceptedDescriptor(listenerPort: Int) -> CInt? {
        (0..<CInt(4096)).first { fd in
            var local = sockaddr_in()
            var peer = sockaddr_in()
            var length = socklen_t(MemoryLayout<sockaddr_in>.size)
            let bound = withUnsafeMutablePointer(to: &local) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) == 0 }
            }
            guard bound, local.sin_family == sa_family_t(AF_INET),
                  Int(UInt16(bigEndian: local.sin_port)) == listenerPort
            else { return false }
            length = socklen_t(MemoryLayout<sockaddr_in>.size)
            return withUnsafeMutablePointer(to: &peer) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getpeername(fd, $0, &length) == 0 }
            }
        }
    }
}
