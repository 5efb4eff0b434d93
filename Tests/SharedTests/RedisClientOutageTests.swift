import Foundation
import Shared
import XCTest

final class RedisClientOutageTests: RedisServerTestCase {
    /// Measures how long a command takes to complete and returns its result.
    private func timedSend(_ client: RedisClient, _ args: [String]) -> (Result<RedisReply, RedisError>?, TimeInterval) {
        let start = Date()
        let result = client.sendAndWait(args)
        return (result, Date().timeIntervalSince(start))
    }

    func testKilledServerFailsFastAndClientReconnectsAfterRestart() throws {
        let server = try self.startServer()
        let client = try self.connectedClient(server)
        XCTAssertEqual(client.sendAndWait(["SET", "before", "1"]), .success(.status("OK")))

        server.stop()

        // Whether the break is seen by a command (EOF) or by the idle health check, no command may
        // wait anywhere near the 2 s I/O timeout: the first fails on EOF, later ones at once.
        for attempt in 0..<20 {
            let (result, elapsed) = self.timedSend(client, ["GET", "before"])
            guard case .failure(.unavailable) = result else {
                return XCTFail("attempt \(attempt): expected .unavailable, got \(String(describing: result))")
            }
            XCTAssertLessThan(elapsed, 1.0, "attempt \(attempt) took \(elapsed) s")
        }
        XCTAssertEqual(client.state, .down)
        XCTAssertFalse(client.isConnected)
        XCTAssertGreaterThanOrEqual(client.errors, 20)
        self.assertRejectedWithoutQueueing(client)

        try server.start()
        // Back-off is capped at 2 s, so the client is back well within this.
        XCTAssertTrue(WaitForCallback.until(timeout: 15) { client.isConnected }, "client did not reconnect")
        // The restarted server has no data (no persistence), which proves it is the new one.
        XCTAssertEqual(client.sendAndWait(["GET", "before"]), .success(.null))
        XCTAssertEqual(client.state, .connected)
    }

    func testASlowServerIsBoundedByTheTimeoutAndRecovers() throws {
        let server = try self.startServer(extraArguments: ["--enable-debug-command", "yes"])
        let client = self.makeClient(server.url(), timeoutMilliseconds: 100)
        XCTAssertTrue(client.waitUntilReady())
        // A second client stalls the server for 3 s (single-threaded Redis answers nobody meanwhile). Its command
        // reaches the server a moment after `send` returns (later on a loaded machine), so the client pings until
        // a ping meets the stall.
        let staller = self.makeClient(server.url(), timeoutMilliseconds: 5_000)
        XCTAssertTrue(staller.waitUntilReady())
        staller.send(["DEBUG", "SLEEP", "3"]) { _ in }
        var failedPingTook: TimeInterval?
        for _ in 0..<20 where failedPingTook == nil {
            usleep(100_000)
            let (result, elapsed) = self.timedSend(client, ["PING"])
            if case .failure = result { failedPingTook = elapsed }
        }
        guard let failedPingTook else { return XCTFail("no ping met the stall within 2 s") }
        XCTAssertLessThan(failedPingTook, 1.0, "the caller waited \(failedPingTook) s for a stalled Redis")
        // Once the server answers again the client reconnects on its own.
        XCTAssertTrue(WaitForCallback.until(timeout: 15) {
            if case .success(.status("PONG")) = client.sendAndWait(["PING"]) { return true }
            return false
        })
    }

    func testIdleClientNoticesOutageThroughHealthCheck() throws {
        let server = try self.startServer()
        let client = try self.connectedClient(server)
        server.stop()
        // No command is sent: the 1 s PING health check alone must mark the client down.
        XCTAssertTrue(WaitForCallback.until(timeout: 10) { client.state == .down })
        try server.start()
        XCTAssertTrue(WaitForCallback.until(timeout: 15) { client.isConnected })
    }

    func testUnreachableServerFailsFastFromTheStart() throws {
        let port = try RedisServerProcess.freePort()
        let client = self.makeClient(RedisURL(host: "127.0.0.1", port: port))
        // Commands queued during the first attempt fail when it is refused; afterwards at once.
        for _ in 0..<5 {
            let (result, elapsed) = self.timedSend(client, ["PING"])
            guard case .failure(.unavailable) = result else {
                return XCTFail("expected .unavailable, got \(String(describing: result))")
            }
            XCTAssertLessThan(elapsed, 1.0)
        }
        XCTAssertEqual(client.state, .down)
        XCTAssertGreaterThanOrEqual(client.connectionFailures, 1)
        self.assertRejectedWithoutQueueing(client)
    }

    /// While down, a command is failed before `send` returns: nothing waits for a reconnect attempt,
    /// however long that attempt (a black-holed host) would take.
    private func assertRejectedWithoutQueueing(
        _ client: RedisClient,
        file: StaticString = #filePath,
        line: UInt = #line
    ) {
        let outcome = LockedBox<Result<RedisReply, RedisError>?>(nil)
        client.send(["PING"]) { outcome.value = $0 }
        XCTAssertEqual(outcome.value, .failure(.unavailable("not connected")), file: file, line: line)
    }
}
