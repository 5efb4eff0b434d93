import Foundation
import Shared
import XCTest

/// `REDIS_URL=unix:///path/to/redis.sock`: the client speaks to a co-located Redis over its Unix domain socket.
final class RedisUnixSocketTests: RedisServerTestCase {
    func testCommandsAuthAndSelectOverTheSocket() throws {
        let server = try self.startServer(extraArguments: ["--requirepass", "hunter2"], unixSocket: true)
        let url = try RedisURL(parsing: "unix://:hunter2@\(server.socketPath)?db=2")
        let client = self.makeClient(url)
        XCTAssertTrue(client.waitUntilReady(), "no connection over \(server.socketPath)")
        XCTAssertEqual(client.sendAndWait(["SET", "via", "socket"]), .success(.status("OK")))
        let pipelined = WaitForCallback.result {
            client.pipeline((0..<50).map { _ in [Array("INCR".utf8), Array("n".utf8)] }, completion: $0)
        }
        XCTAssertEqual(pipelined, .success((1...50).map { RedisReply.integer($0) }))

        // The same server over TCP sees the key in database 2, where SELECT put it.
        let tcp = self.makeClient(server.url(password: "hunter2", database: 2))
        XCTAssertTrue(tcp.waitUntilReady())
        XCTAssertEqual(tcp.sendAndWait(["GET", "via"]), .success(.bulk(Array("socket".utf8))))
        // redis-server lists the socket client with the socket's path as its address.
        guard case .success(.bulk(let clients)) = tcp.sendAndWait(["CLIENT", "LIST"]) else {
            return XCTFail("CLIENT LIST gave no list")
        }
        XCTAssertTrue(String(decoding: clients, as: UTF8.self).contains("addr=\(server.socketPath)"),
                      String(decoding: clients, as: UTF8.self))
    }

    func testReconnectsOverTheSocketAfterARestart() throws {
        let server = try self.startServer(unixSocket: true)
        let client = self.makeClient(RedisURL(endpoint: .unixSocket(path: server.socketPath)))
        XCTAssertTrue(client.waitUntilReady())
        XCTAssertEqual(client.sendAndWait(["SET", "before", "1"]), .success(.status("OK")))

        server.stop()
        guard case .failure(.unavailable) = client.sendAndWait(["GET", "before"]) else {
            return XCTFail("expected .unavailable with the server gone")
        }
        try server.start()
        XCTAssertTrue(WaitForCallback.until(timeout: 15) { client.isConnected }, "client did not reconnect")
        XCTAssertEqual(client.sendAndWait(["GET", "before"]), .success(.null))
    }

    func testAMissingSocketFailsFast() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("cgw-no-redis-\(getpid()).sock").path
        let client = self.makeClient(RedisURL(endpoint: .unixSocket(path: path)))
        XCTAssertTrue(WaitForCallback.until { client.state == .down })
        let start = Date()
        guard case .failure(.unavailable) = client.sendAndWait(["PING"]) else {
            return XCTFail("expected .unavailable without a socket")
        }
        XCTAssertLessThan(Date().timeIntervalSince(start), 1.0)
        XCTAssertGreaterThan(client.connectionFailures, 0)
    }
}
