import Foundation
import Shared
import XCTest

final class RedisClientTests: RedisServerTestCase {
    func testBasicReplyTypes() throws {
        let client = try self.connectedClient(try self.startServer())

        XCTAssertEqual(client.sendAndWait(["SET", "k", "v"]), .success(.status("OK")))
        XCTAssertEqual(client.sendAndWait(["GET", "k"]), .success(.bulk(Array("v".utf8))))
        XCTAssertEqual(client.sendAndWait(["GET", "missing"]), .success(.null))
        XCTAssertEqual(client.sendAndWait(["INCR", "n"]), .success(.integer(1)))
        XCTAssertEqual(
            client.sendAndWait(["RPUSH", "l", "a", "b"]).flatMap { try? $0.get() },
            .integer(2)
        )
        XCTAssertEqual(
            client.sendAndWait(["LRANGE", "l", "0", "-1"]),
            .success(.array([.bulk(Array("a".utf8)), .bulk(Array("b".utf8))]))
        )
        // An error reply is a reply: the connection stays usable.
        guard case .success(.error(let message)) = client.sendAndWait(["INCR", "k"]) else {
            return XCTFail("expected an error reply")
        }
        XCTAssertTrue(message.hasPrefix("ERR"), message)
        XCTAssertEqual(client.sendAndWait(["PING"]), .success(.status("PONG")))
        XCTAssertTrue(client.isConnected)
        XCTAssertEqual(client.state, .connected)
        XCTAssertEqual(client.errors, 0)
    }

    func testBinarySafeValues() throws {
        let client = try self.connectedClient(try self.startServer())
        let value: [UInt8] = [0, 13, 10, 255, 36, 42, 0]
        let key: [UInt8] = Array("bin\u{0}key".utf8)
        XCTAssertEqual(client.sendAndWait([Array("SET".utf8), key, value]), .success(.status("OK")))
        XCTAssertEqual(client.sendAndWait([Array("GET".utf8), key]), .success(.bulk(value)))
        XCTAssertEqual(client.sendAndWait([Array("SET".utf8), Array("empty".utf8), []]), .success(.status("OK")))
        XCTAssertEqual(client.sendAndWait(["GET", "empty"]), .success(.bulk([])))
    }

    func testPipelineRepliesInOrder() throws {
        let client = try self.connectedClient(try self.startServer())
        let commands = (0..<200).map { _ in [Array("INCR".utf8), Array("counter".utf8)] }
        let result = WaitForCallback.result { client.pipeline(commands, completion: $0) }
        XCTAssertEqual(result, .success((1...200).map { RedisReply.integer($0) }))

        let mixed = WaitForCallback.result {
            client.pipeline(
                [[Array("SET".utf8), Array("a".utf8), Array("1".utf8)], [Array("NOSUCHCOMMAND".utf8)]],
                completion: $0
            )
        }
        guard case .success(let replies) = mixed, replies.count == 2, case .error = replies[1] else {
            return XCTFail("expected OK then an error reply, got \(String(describing: mixed))")
        }
        XCTAssertEqual(replies[0], .status("OK"))
        XCTAssertEqual(WaitForCallback.result { client.pipeline([], completion: $0) }, .success([]))
    }

    func testConcurrentSendersAreAllAnswered() throws {
        let client = try self.connectedClient(try self.startServer())
        let failures = LockedBox(0)
        let group = DispatchGroup()
        let threads = 8
        let perThread = 500
        DispatchQueue.concurrentPerform(iterations: threads) { _ in
            for _ in 0..<perThread {
                group.enter()
                client.send(["INCR", "shared"]) { result in
                    if case .failure = result { failures.mutate { $0 += 1 } }
                    group.leave()
                }
            }
        }
        XCTAssertEqual(group.wait(timeout: .now() + 30), .success)
        XCTAssertEqual(failures.value, 0)
        XCTAssertEqual(client.sendAndWait(["GET", "shared"]), .success(.bulk(Array(String(threads * perThread).utf8))))
    }

    func testEmptyCommandIsRejected() throws {
        let client = self.makeClient(RedisURL(host: "127.0.0.1", port: 1))
        XCTAssertEqual(client.sendAndWait([[UInt8]]()), .failure(.invalidCommand("empty command")))
    }

    func testQueueBoundFailsFastWithOverloaded() throws {
        let client = self.makeClient(try self.startServer().url(), maxQueuedCommands: 5)
        XCTAssertTrue(client.waitUntilReady())
        // Completions run on the client's loop: holding one there lets commands pile up for it.
        let release = DispatchSemaphore(value: 0)
        let blocking = DispatchSemaphore(value: 0)
        client.send(["PING"]) { _ in
            blocking.signal()
            release.wait()
        }
        blocking.wait()

        let answered = DispatchGroup()
        let outcomes = LockedBox([Result<RedisReply, RedisError>]())
        for _ in 0..<5 {
            answered.enter()
            client.send(["PING"]) { result in
                outcomes.mutate { $0.append(result) }
                answered.leave()
            }
        }
        let rejected = client.sendAndWait(["PING"])
        XCTAssertEqual(rejected, .failure(.overloaded))
        XCTAssertEqual(client.errors, 1)

        release.signal()
        XCTAssertEqual(answered.wait(timeout: .now() + 10), .success)
        XCTAssertEqual(outcomes.value, Array(repeating: .success(.status("PONG")), count: 5))
    }

    func testAuthAndSelectOnConnect() throws {
        let server = try self.startServer(extraArguments: ["--requirepass", "hunter2"])
        let client = self.makeClient(server.url(password: "hunter2", database: 3))
        XCTAssertTrue(client.waitUntilReady())
        XCTAssertEqual(client.sendAndWait(["SET", "where", "db3"]), .success(.status("OK")))

        // Redis 6 ACL form: AUTH <user> <password> with the default user.
        let other = self.makeClient(server.url(password: "hunter2", username: "default"))
        XCTAssertTrue(other.waitUntilReady())
        XCTAssertEqual(other.sendAndWait(["GET", "where"]), .success(.null))
        XCTAssertEqual(other.sendAndWait(["SELECT", "3"]), .success(.status("OK")))
        XCTAssertEqual(other.sendAndWait(["GET", "where"]), .success(.bulk(Array("db3".utf8))))
    }

    func testWrongPasswordLeavesClientDownAndFailingFast() throws {
        let server = try self.startServer(extraArguments: ["--requirepass", "hunter2"])
        let client = self.makeClient(server.url(password: "wrong"))
        XCTAssertTrue(WaitForCallback.until { client.state == .down })
        guard case .failure(.unavailable) = client.sendAndWait(["PING"]) else {
            return XCTFail("expected .unavailable while authentication fails")
        }
        XCTAssertGreaterThan(client.connectionFailures, 0)
    }

    func testShutdownFailsLaterCommands() throws {
        let client = try self.connectedClient(try self.startServer())
        client.shutdown()
        XCTAssertEqual(client.state, .down)
        XCTAssertFalse(client.isConnected)
        XCTAssertEqual(client.sendAndWait(["PING"]), .failure(.unavailable("client shut down")))
        client.shutdown()
    }

    func testShutdownFromACompletionDoesNotDeadlock() throws {
        let client = try self.connectedClient(try self.startServer())
        let done = WaitForCallback.result { (finish: @escaping @Sendable (Bool) -> Void) in
            client.send(["PING"]) { _ in
                client.shutdown()
                finish(true)
            }
        }
        XCTAssertEqual(done, true)
        XCTAssertEqual(client.state, .down)
    }
}
