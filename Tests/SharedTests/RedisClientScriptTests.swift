import Foundation
import Shared
import XCTest

final class RedisClientScriptTests: RedisServerTestCase {
    private let script = RedisScript("return {KEYS[1], ARGV[1], tonumber(ARGV[2]) * 2}")

    private func evalAndWait(_ client: RedisClient) -> Result<RedisReply, RedisError>? {
        WaitForCallback.result { client.evalScript(self.script, keys: ["k1"], args: ["a1", "21"], completion: $0) }
    }

    private func scriptExists(_ client: RedisClient) -> RedisReply? {
        try? client.sendAndWait(["SCRIPT", "EXISTS", self.script.sha1])?.get()
    }

    func testEvalScriptReturnsScriptResult() throws {
        let client = try self.connectedClient(try self.startServer())
        let expected = RedisReply.array([.bulk(Array("k1".utf8)), .bulk(Array("a1".utf8)), .integer(42)])
        XCTAssertEqual(self.evalAndWait(client), .success(expected))
        XCTAssertEqual(self.scriptExists(client), .array([.integer(1)]))
    }

    func testNoScriptIsRepairedAfterScriptFlush() throws {
        let client = try self.connectedClient(try self.startServer())
        let expected = RedisReply.array([.bulk(Array("k1".utf8)), .bulk(Array("a1".utf8)), .integer(42)])
        XCTAssertEqual(self.evalAndWait(client), .success(expected))

        XCTAssertEqual(client.sendAndWait(["SCRIPT", "FLUSH"]), .success(.status("OK")))
        XCTAssertEqual(self.scriptExists(client), .array([.integer(0)]))

        XCTAssertEqual(self.evalAndWait(client), .success(expected))
        XCTAssertEqual(self.scriptExists(client), .array([.integer(1)]))
    }

    func testScriptErrorsArriveAsErrorReplies() throws {
        let client = try self.connectedClient(try self.startServer())
        let broken = RedisScript("this is not lua")
        guard
            case .success(.error(let message)) = WaitForCallback.result({
                client.evalScript(broken, keys: [], args: [], completion: $0)
            })
        else {
            return XCTFail("expected a compile error reply")
        }
        XCTAssertFalse(message.hasPrefix("NOSCRIPT"), message)
        XCTAssertTrue(client.isConnected)
    }

    func testRegisteredScriptsAreLoadedOnReconnect() throws {
        let server = try self.startServer()
        let client = try self.connectedClient(server)
        client.register(self.script)
        XCTAssertEqual(client.sendAndWait(["SCRIPT", "FLUSH"]), .success(.status("OK")))
        guard case .success(.integer(let id)) = client.sendAndWait(["CLIENT", "ID"]) else {
            return XCTFail("CLIENT ID failed")
        }

        // Drop the client's connection from another connection; it reconnects by itself.
        let admin = try self.connectedClient(server)
        XCTAssertEqual(admin.sendAndWait(["CLIENT", "KILL", "ID", String(id)]), .success(.integer(1)))

        // The first command after the kill may fail (that is how the break is noticed); then the
        // reconnect runs SCRIPT LOAD for every registered script before anything else.
        XCTAssertTrue(
            WaitForCallback.until {
                self.scriptExists(client) == .array([.integer(1)])
            },
            "script was not reloaded after reconnect"
        )
        XCTAssertGreaterThanOrEqual(client.connectionFailures, 1)
    }
}
