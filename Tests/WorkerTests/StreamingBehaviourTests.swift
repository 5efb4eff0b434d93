import Foundation
import TestSupport
import XCTest

/// Pings, client departure, upstream idleness and backpressure on real streams.
final class StreamingBehaviourTests: XCTestCase {
    var upstream: FakeUpstream!
    var gateway: GatewayUnderTest!

    override func tearDown() {
        gateway?.stop()
        upstream?.stop()
    }

    private func start(_ settings: [String: String] = [:]) throws {
        upstream = try FakeUpstream()
        gateway = try GatewayUnderTest(upstream: upstream, settings: settings)
    }

    private func openStream(_ scenario: String) throws -> TestConnection {
        let connection = try TestConnection(port: gateway.port)
        let body = Array(try JSONSerialization.data(withJSONObject: messagesBody(stream: true, scenario: scenario)))
        try connection.sendRequest(method: "POST", path: "/v1/messages",
                                   headers: ["x-api-key": "test-key", "content-type": "application/json"], body: body)
        return connection
    }

    func testMessageStartAndPingsFlowWhileWaitingForTheFirstToken() throws {
        try start(["PING_INTERVAL_SECONDS": "0.2"])
        let response = try gateway.messages(messagesBody(stream: true, scenario: "slow_first;delay_ms=900"))
        let names = response.events.map(\.name)
        XCTAssertEqual(names.first, "message_start")
        let firstBlock = try XCTUnwrap(names.firstIndex(of: "content_block_start"))
        XCTAssertGreaterThanOrEqual(names[..<firstBlock].filter { $0 == "ping" }.count, 2, "\(names)")
        XCTAssertEqual(names.last, "message_stop")
    }

    /// Every silence of a stream is filled with pings, mid-stream too: the event loop's clock (`LoopClock`) looks
    /// after each stream from its start to its end.
    func testPingsFillEachSilenceBetweenChunks() throws {
        try start(["PING_INTERVAL_SECONDS": "0.2"])
        let response = try gateway.messages(messagesBody(stream: true, scenario: "paced;chunks=3;interval_ms=1000"))
        let names = response.events.map(\.name)
        let deltas = names.indices.filter { names[$0] == "content_block_delta" }
        XCTAssertEqual(deltas.count, 3, "\(names)")
        for (previous, next) in zip(deltas, deltas.dropFirst()) {
            // 1 s apart, a ping due after 200 ms of silence and looked for every 50 ms: three or four, and two at
            // the least even when a loaded machine holds the gateway's loop up for a few hundred ms.
            XCTAssertGreaterThanOrEqual(names[previous..<next].filter { $0 == "ping" }.count, 2, "\(names)")
        }
        XCTAssertEqual(names.last, "message_stop")
    }

    /// A stream that keeps writing gets no pings: they are for silences only.
    func testAStreamThatKeepsWritingGetsNoPings() throws {
        // A chunk every 50 ms for 3 s; pings every second would make two or three, a ping after a second without a
        // chunk none (a stall of the fake would have to last that second).
        try start(["PING_INTERVAL_SECONDS": "1"])
        let response = try gateway.messages(messagesBody(stream: true, scenario: "paced;chunks=60;interval_ms=50"))
        let names = response.events.map(\.name)
        XCTAssertEqual(names.filter { $0 == "content_block_delta" }.count, 60, "\(names)")
        XCTAssertFalse(names.contains("ping"), "\(names)")
    }

    func testClientDisconnectCancelsTheUpstreamAtOnce() throws {
        try start()
        let connection = try openStream("idle")
        XCTAssertEqual(try connection.readHead().status, 200)
        try connection.fill()
        shutdown(connection.fd, Int32(SHUT_RDWR))
        let cancelled = { try self.upstream.stats()["cancelled"] as? Int ?? 0 }
        _ = try eventually(every: 0.02) { try cancelled() >= 1 }
        XCTAssertEqual(try cancelled(), 1, "the fake must see its stream abandoned")
    }

    func testUpstreamIdleTimeoutEndsTheStreamWithAnError() throws {
        try start(["UPSTREAM_IDLE_TIMEOUT_SECONDS": "0.5"])
        let response = try gateway.messages(messagesBody(stream: true, scenario: "idle"))
        let last = try XCTUnwrap(response.events.last)
        XCTAssertEqual(last.name, "error")
        XCTAssertEqual((last.data["error"] as? [String: Any])?["type"] as? String, "timeout_error")
    }

    func testAStreamLongerThanTheIdleTimeoutButNeverSilentThatLongCompletes() throws {
        try start(["UPSTREAM_IDLE_TIMEOUT_SECONDS": "1"])
        // 10 chunks 250 ms apart: 2.5 s in all, never 1 s of silence (a loaded machine may delay one chunk a little).
        let response = try gateway.messages(messagesBody(stream: true, scenario: "paced;chunks=10;interval_ms=250"))
        XCTAssertEqual(response.events.last?.name, "message_stop")
        XCTAssertFalse(response.events.contains { $0.name == "error" })
        let text = response.events.compactMap { ($0.data["delta"] as? [String: Any])?["text"] as? String }.joined()
        XCTAssertEqual(text, (0..<10).map { "tok\($0) " }.joined())
    }

    /// Many streams at once, a third of them abandoned mid-stream: cancels come while other transfers' bytes are
    /// being read on the same event loop. Every stream that stays must get exactly its own tokens, every abandoned
    /// one must be cancelled upstream.
    func testConcurrentStreamsWithDeparturesEachGetTheirOwnCompleteAnswer() throws {
        try start()
        let cancelledBefore = try upstream.stats()["cancelled"] as? Int ?? 0
        let port = gateway.port
        let streams = 48
        let abandoned = (0..<streams).filter { $0 % 3 == 0 }.count
        let problems = ProblemList()
        let group = DispatchGroup()
        for index in 0..<streams {
            DispatchQueue.global().async(group: group) {
                do {
                    if index % 3 == 0 {
                        let connection = try TestConnection(port: port)
                        let body = Array(try JSONSerialization.data(
                            withJSONObject: messagesBody(stream: true, scenario: "paced;chunks=400;interval_ms=5")))
                        try connection.sendRequest(method: "POST", path: "/v1/messages", headers: [
                            "x-api-key": "test-key", "content-type": "application/json"], body: body)
                        _ = try connection.readUntil("content_block_delta")
                        // Leaving: the connection closes when it goes out of scope.
                    } else {
                        let chunks = 20 + index
                        let response = try httpRequest(port: port, path: "/v1/messages", headers: ["x-api-key": "test-key"],
                                                       json: messagesBody(stream: true, scenario: "paced;chunks=\(chunks);interval_ms=2"))
                        let text = response.events
                            .compactMap { ($0.data["delta"] as? [String: Any])?["text"] as? String }.joined()
                        if text != (0..<chunks).map({ "tok\($0) " }).joined() || response.events.last?.name != "message_stop" {
                            problems.add("stream \(index): \(response.events.count) events, last \(response.events.last?.name ?? "-")")
                        }
                    }
                } catch {
                    problems.add("stream \(index): \(error)")
                }
            }
        }
        XCTAssertEqual(group.wait(timeout: .now() + 60), .success)
        XCTAssertEqual(problems.all, [])
        let cancelled = { (try self.upstream.stats()["cancelled"] as? Int ?? 0) - cancelledBefore }
        _ = try eventually(every: 0.02) { try cancelled() >= abandoned }
        XCTAssertEqual(try cancelled(), abandoned, "every abandoned stream is cancelled upstream")
    }

    func testFirstByteTimeoutIsRetriedThenReported() throws {
        try start(["UPSTREAM_FIRST_BYTE_TIMEOUT_SECONDS": "0.3", "UPSTREAM_MAX_RETRIES": "1"])
        let before = try upstream.stats()["requests"] as? Int ?? 0
        let response = try gateway.messages(messagesBody(scenario: "slow_first;delay_ms=3000"))
        XCTAssertEqual(response.status, 504)
        // The 504 leaves 0.3 s after the second attempt is sent, which the fake counts once it has read it.
        let attempts = { (try self.upstream.stats()["requests"] as? Int ?? 0) - before }
        _ = try eventually { try attempts() >= 2 }
        XCTAssertEqual(try attempts(), 2)
    }

    func testSlowReaderPausesTheUpstreamInsteadOfBuffering() throws {
        try start()
        // ~15 MB of upstream SSE, ~30 MB towards the client, more than loopback socket buffers can hide.
        let connection = try TestConnection(port: gateway.port, receiveBuffer: 4096)
        let body = Array(try JSONSerialization.data(
            withJSONObject: messagesBody(stream: true, scenario: "paced;chunks=200000;interval_ms=0")))
        try connection.sendRequest(method: "POST", path: "/v1/messages",
                                   headers: ["x-api-key": "test-key", "content-type": "application/json"], body: body)
        XCTAssertEqual(try connection.readHead().status, 200)
        sleep(3)
        let stalled = try upstream.stats()
        // With backpressure the fake is held mid-stream; without it, it would have finished in about a second.
        XCTAssertEqual(stalled["completed"] as? Int ?? -1, 0, "upstream ran ahead of a stalled client: \(stalled)")
        let text = try connection.readUntil("event: message_stop")
        // Every token once, in order, through the pauses and resumptions.
        let tokens = Self.tokenNumbers(in: text)
        XCTAssertEqual(tokens.count, 200_000)
        XCTAssertEqual(tokens.first, 0)
        XCTAssertNil(zip(tokens, tokens.dropFirst()).first { $0.1 != $0.0 + 1 }, "a token missing, repeated or out of order")
        // The stalled client's socket filled: the answer's bytes waited in the worker (`ClientOutput`), and counted.
        let metrics = try httpRequest(port: gateway.port, method: "GET", path: "/metrics").text
        let stalls = metrics.split(separator: "\n")
            .first { $0.hasPrefix("cerebras_gateway_client_write_stalls_total ") }
        XCTAssertGreaterThanOrEqual(Double(stalls?.split(separator: " ").last ?? "") ?? 0, 1, "no stall counted")
    }

    /// The numbers of the `tokN ` texts in the order they appear.
    private static func tokenNumbers(in text: String) -> [Int] {
        let bytes = Array(text.utf8)
        let marker = Array(#""text":"tok"#.utf8)
        var numbers: [Int] = []
        numbers.reserveCapacity(200_000)
        var index = 0
        while let found = bytes[index...].firstRange(of: marker) {
            var cursor = found.upperBound
            var number = 0
            while cursor < bytes.count, bytes[cursor] >= 0x30, bytes[cursor] <= 0x39 {
                number = number * 10 + Int(bytes[cursor] - 0x30)
                cursor += 1
            }
            numbers.append(number)
            index = cursor
        }
        return numbers
    }
}

/// Problems found on several threads at once.
private final class ProblemList: @unchecked Sendable {
    private let lock = NSLock()
    private var problems: [String] = []

    func add(_ problem: String) {
        lock.lock()
        problems.append(problem)
        lock.unlock()
    }

    var all: [String] {
        lock.lock()
        defer { lock.unlock() }
        return problems
    }
}
