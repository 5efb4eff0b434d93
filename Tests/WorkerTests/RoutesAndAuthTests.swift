import Foundation
import Shared
import TestSupport
import XCTest

/// Every non-message route, the auth modes and the request limits, over real sockets.
final class RoutesAndAuthTests: XCTestCase {
    var upstream: FakeUpstream!
    var gateways: [GatewayUnderTest] = []

    override func setUpWithError() throws {
        upstream = try FakeUpstream()
    }

    override func tearDown() {
        gateways.forEach { $0.stop() }
        upstream?.stop()
    }

    private func gateway(_ settings: [String: String] = [:]) throws -> GatewayUnderTest {
        let gateway = try GatewayUnderTest(upstream: upstream, settings: settings)
        gateways.append(gateway)
        return gateway
    }

    private func errorType(_ response: TestResponse) -> String? {
        ((try? response.json() as? [String: Any])?["error"] as? [String: Any])?["type"] as? String
    }

    func testLocalRoutes() throws {
        let port = try gateway().port
        let key = ["x-api-key": "test-key"]
        XCTAssertEqual(try httpRequest(port: port, method: "GET", path: "/").status, 200)
        XCTAssertEqual(try httpRequest(port: port, method: "HEAD", path: "/").status, 200)
        XCTAssertEqual(try httpRequest(port: port, method: "GET", path: "/health").status, 200)
        let metrics = try httpRequest(port: port, method: "GET", path: "/metrics")
        XCTAssertEqual(metrics.status, 200)
        XCTAssertEqual(try httpRequest(port: port, path: "/api/event_logging/batch", json: ["events": []]).status, 200)

        let models = try httpRequest(port: port, method: "GET", path: "/v1/models", headers: key)
        XCTAssertEqual(models.status, 200)
        let list = try XCTUnwrap(try models.json() as? [String: Any])
        let data = try XCTUnwrap(list["data"] as? [[String: Any]])
        XCTAssertTrue(data.contains { $0["id"] as? String == "claude-sonnet-4-5" })
        XCTAssertEqual(list["has_more"] as? Bool, false)
        XCTAssertEqual(data.first?["type"] as? String, "model")
        let one = try httpRequest(port: port, method: "GET", path: "/v1/models/claude-opus-4-5-20251101", headers: key)
        XCTAssertEqual(one.status, 200)

        let missing = try httpRequest(port: port, method: "GET", path: "/v2/nothing")
        XCTAssertEqual(missing.status, 404)
        XCTAssertEqual(errorType(missing), "not_found_error")
        let wrongMethod = try httpRequest(port: port, method: "GET", path: "/v1/messages", headers: key)
        XCTAssertEqual(wrongMethod.status, 405)
        XCTAssertEqual(wrongMethod.headers["allow"], "POST")
        XCTAssertTrue(missing.headers["request-id"]?.hasPrefix("req_") == true)
    }

    func testCountTokensIsLocalAndNeedsNoMaxTokens() throws {
        let port = try gateway().port
        let before = try upstream.stats()["requests"] as? Int ?? 0
        let small = try httpRequest(port: port, path: "/v1/messages/count_tokens?beta=true", headers: ["x-api-key": "test-key"],
                                    json: ["model": "claude-sonnet-4-5", "messages": [["role": "user", "content": "hi"]]])
        XCTAssertEqual(small.status, 200, small.text)
        let big = try httpRequest(port: port, path: "/v1/messages/count_tokens", headers: ["x-api-key": "test-key"],
                                  json: ["model": "claude-sonnet-4-5",
                                         "messages": [["role": "user", "content": String(repeating: "hello world ", count: 500)]]])
        let smallCount = try XCTUnwrap((try small.json() as? [String: Any])?["input_tokens"] as? Int)
        let bigCount = try XCTUnwrap((try big.json() as? [String: Any])?["input_tokens"] as? Int)
        XCTAssertGreaterThan(smallCount, 0)
        XCTAssertGreaterThan(bigCount, smallCount + 500)
        XCTAssertEqual(try upstream.stats()["requests"] as? Int ?? 0, before, "count_tokens must not call upstream")
    }

    func testAuthAcceptsXApiKeyOrBearerAndRejectsOthers() throws {
        let port = try gateway().port
        let body = messagesBody()
        XCTAssertEqual(try httpRequest(port: port, path: "/v1/messages", headers: ["x-api-key": "test-key"], json: body).status, 200)
        XCTAssertEqual(try httpRequest(port: port, path: "/v1/messages?beta=true",
                                       headers: ["authorization": "Bearer test-key"], json: body).status, 200)
        let none = try httpRequest(port: port, path: "/v1/messages", json: body)
        XCTAssertEqual(none.status, 401)
        XCTAssertEqual(errorType(none), "authentication_error")
        XCTAssertEqual(try httpRequest(port: port, path: "/v1/messages", headers: ["x-api-key": "wrong"], json: body).status, 401)
    }

    func testKeysFileDigestsWithModelRestrictions() throws {
        let digest = SHA256Digest.hex(Array("haiku-only".utf8))
        let gateway = try GatewayUnderTest(upstream: upstream, settings: ["GATEWAY_API_KEYS": ""],
                                           keysFile: "# team keys\n\(digest) rpm=100 models=claude-*haiku*\n")
        gateways.append(gateway)
        let allowed = try gateway.messages(messagesBody(extra: ["model": "claude-haiku-4-5"]), headers: ["x-api-key": "haiku-only"])
        XCTAssertEqual(allowed.status, 200)
        let refused = try gateway.messages(messagesBody(), headers: ["x-api-key": "haiku-only"])
        XCTAssertEqual(refused.status, 403)
        XCTAssertEqual(errorType(refused), "permission_error")
        XCTAssertEqual(try gateway.messages(messagesBody(), headers: ["x-api-key": "test-key"]).status, 401)
    }

    func testPassthroughSendsTheClientsOwnCerebrasKey() throws {
        let port = try gateway(["PASSTHROUGH_KEYS": "true"]).port
        let response = try httpRequest(port: port, path: "/v1/messages", headers: ["x-api-key": "csk-client-own"],
                                       json: messagesBody())
        XCTAssertEqual(response.status, 200)
        let headers = try XCTUnwrap(try upstream.stats()["last_headers"] as? [String: Any])
        XCTAssertEqual(headers["authorization"] as? String, "Bearer csk-client-own")
        XCTAssertEqual(try httpRequest(port: port, path: "/v1/messages", headers: ["x-api-key": "not-a-csk"],
                                       json: messagesBody()).status, 401)
    }

    func testKeyPoolRoundRobins() throws {
        let port = try gateway(["CEREBRAS_API_KEY": "", "CEREBRAS_API_KEYS": "csk-a,csk-b"]).port
        var seen: [String] = []
        for _ in 0..<4 {
            _ = try httpRequest(port: port, path: "/v1/messages", headers: ["x-api-key": "test-key"], json: messagesBody())
            seen.append((try upstream.stats()["last_headers"] as? [String: Any])?["authorization"] as? String ?? "")
        }
        XCTAssertEqual(seen, ["Bearer csk-a", "Bearer csk-b", "Bearer csk-a", "Bearer csk-b"])
    }

    func testInvalidBodiesAreNamedClearly() throws {
        let port = try gateway().port
        let key = ["x-api-key": "test-key", "content-type": "application/json"]
        let malformed = try httpRequest(port: port, path: "/v1/messages", headers: key, body: Array("{\"model\":".utf8))
        XCTAssertEqual(malformed.status, 400)
        XCTAssertEqual(errorType(malformed), "invalid_request_error")
        let deep = Array(String(repeating: "[", count: 100_000).utf8)
        let nested = try httpRequest(port: port, path: "/v1/messages", headers: key, body: deep)
        XCTAssertEqual(nested.status, 400)
        let wrongType = try httpRequest(port: port, path: "/v1/messages", headers: key,
                                        json: ["model": "claude-sonnet-4-5", "max_tokens": "many", "messages": []])
        XCTAssertTrue(wrongType.text.contains("max_tokens"), wrongType.text)
        let invalidUTF8 = try httpRequest(port: port, path: "/v1/messages", headers: key,
                                          body: Array("{\"model\":\"".utf8) + [0xFF, 0xFE] + Array("\"}".utf8))
        XCTAssertEqual(invalidUTF8.status, 400)
    }

    func testBodyOverTheLimitIsRefusedWithoutReadingIt() throws {
        let port = try gateway(["MAX_BODY_BYTES": "2048"]).port
        let connection = try TestConnection(port: port)
        try connection.send("POST /v1/messages HTTP/1.1\r\nHost: x\r\nx-api-key: test-key\r\ncontent-length: 10000000\r\n\r\n")
        let response = try connection.readResponse()
        XCTAssertEqual(response.status, 413)
        XCTAssertTrue(response.text.contains("request_too_large"))
        XCTAssertTrue(connection.isClosedByPeer())

        let chunked = try TestConnection(port: port)
        try chunked.send("POST /v1/messages HTTP/1.1\r\nHost: x\r\nx-api-key: test-key\r\ntransfer-encoding: chunked\r\n\r\n")
        let piece = String(repeating: "a", count: 1500)
        try chunked.send("5dc\r\n\(piece)\r\n5dc\r\n\(piece)\r\n")
        XCTAssertEqual(try chunked.readResponse().status, 413)
    }

    func testExpectContinueAndPipelining() throws {
        let port = try gateway().port
        let connection = try TestConnection(port: port)
        let body = Array(try JSONSerialization.data(withJSONObject: messagesBody()))
        try connection.send("POST /v1/messages HTTP/1.1\r\nHost: x\r\nx-api-key: test-key\r\ncontent-type: application/json\r\n"
                            + "content-length: \(body.count)\r\nexpect: 100-continue\r\n\r\n")
        try connection.send(body)
        XCTAssertEqual(try connection.readResponse().status, 200)

        let pipelined = try TestConnection(port: port)
        let one = "GET /v1/models HTTP/1.1\r\nHost: x\r\nx-api-key: test-key\r\n\r\n"
        try pipelined.send(one + one + "GET /nope HTTP/1.1\r\nHost: x\r\n\r\n")
        XCTAssertEqual(try pipelined.readResponse().status, 200)
        XCTAssertEqual(try pipelined.readResponse().status, 200)
        XCTAssertEqual(try pipelined.readResponse().status, 404)
    }

    func testRequestSmugglingShapesAreRejectedAndClosed() throws {
        let port = try gateway().port
        for shape in ["content-length: 5\r\ntransfer-encoding: chunked", "content-length: 5\r\ncontent-length: 5",
                      "transfer-encoding: gzip, chunked", "content-length : 5", "x-a: b\r\n folded: c"] {
            let connection = try TestConnection(port: port)
            try connection.send("POST /v1/messages HTTP/1.1\r\nHost: x\r\n\(shape)\r\n\r\n0\r\n\r\n")
            XCTAssertEqual(try connection.readResponse().status, 400, shape)
            XCTAssertTrue(connection.isClosedByPeer(), shape)
        }
    }

    func testAHeadOverTheLimitIsRefusedWith431() throws {
        let port = try gateway(["MAX_HEADER_BYTES": "1024"]).port
        let connection = try TestConnection(port: port)
        let filler = String(repeating: "a", count: 2000)
        try connection.send("GET /health HTTP/1.1\r\nHost: x\r\nx-filler: \(filler)\r\n\r\n")
        let response = try connection.readResponse()
        XCTAssertEqual(response.status, 431)
        XCTAssertEqual(response.headers["connection"], "close")
        XCTAssertTrue(connection.isClosedByPeer())
        XCTAssertEqual(try httpRequest(port: port, method: "GET", path: "/health").status, 200, "a head within it")
    }

    func testSlowlorisHeadersAreCutOff() throws {
        let port = try gateway(["REQUEST_TIMEOUT_SECONDS": "0.5"]).port
        let connection = try TestConnection(port: port)
        try connection.send("POST /v1/messages HTTP/1.1\r\nHost: x\r\n")
        XCTAssertTrue(connection.isClosedByPeer(within: 5))
    }

    func testASlowRequestOnAKeptAliveConnectionIsCutOffToo() throws {
        let port = try gateway(["REQUEST_TIMEOUT_SECONDS": "0.5"]).port
        let connection = try TestConnection(port: port)
        try connection.send("GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        XCTAssertEqual(try connection.readResponse().status, 200)
        try connection.send("POST /v1/messages HTTP/1.1\r\nHost: x\r\n")
        XCTAssertTrue(connection.isClosedByPeer(within: 5), "the second request's clock started at its first byte")
    }

    func testAnIdleKeepAliveConnectionIsClosedAfterTheIdleTimeoutNotBefore() throws {
        let port = try gateway(["IDLE_TIMEOUT_SECONDS": "0.6", "REQUEST_TIMEOUT_SECONDS": "0.2"]).port
        let connection = try TestConnection(port: port)
        // Taken before sending: the server's idle clock starts when it answers, which is after this.
        let idleFrom = Date()
        try connection.send("GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        XCTAssertEqual(try connection.readResponse().status, 200)
        XCTAssertTrue(connection.isClosedByPeer(within: 5))
        XCTAssertGreaterThan(Date().timeIntervalSince(idleFrom), 0.5, "idle for the idle timeout, not the request timeout")
    }

    func testAStreamLongerThanTheConnectionTimeoutsIsNotCutOff() throws {
        let gateway = try gateway(["IDLE_TIMEOUT_SECONDS": "0.3", "REQUEST_TIMEOUT_SECONDS": "0.3"])
        let response = try gateway.messages(messagesBody(stream: true, scenario: "paced;chunks=8;interval_ms=150"))
        XCTAssertEqual(response.events.last?.name, "message_stop")
        let text = response.events.compactMap { ($0.data["delta"] as? [String: Any])?["text"] as? String }.joined()
        XCTAssertEqual(text, (0..<8).map { "tok\($0) " }.joined())
    }

    func testConcurrencyCapShedsWith529() throws {
        let gateway = try gateway(["MAX_CONCURRENT_UPSTREAM": "1"])
        let holder = try TestConnection(port: gateway.port)
        let body = Array(try JSONSerialization.data(withJSONObject: messagesBody(stream: true, scenario: "idle")))
        try holder.sendRequest(method: "POST", path: "/v1/messages",
                               headers: ["x-api-key": "test-key", "content-type": "application/json"], body: body)
        XCTAssertEqual(try holder.readHead().status, 200)
        let shed = try gateway.messages(messagesBody())
        XCTAssertEqual(shed.status, 529)
        XCTAssertEqual(errorType(shed), "overloaded_error")
    }
}
