import Foundation
import TestSupport
import XCTest

/// Rate limits and the response cache of a worker on its own (the embedded default of one process).
final class ControlPlaneTests: XCTestCase {
    var upstream: FakeUpstream!
    var gateway: GatewayUnderTest!

    override func tearDown() {
        gateway?.stop()
        upstream?.stop()
    }

    func testRateLimitAdmitsTheLimitThen429WithHeaders() throws {
        upstream = try FakeUpstream()
        gateway = try GatewayUnderTest(upstream: upstream, settings: ["RATE_LIMIT_ENABLED": "true", "RATE_LIMIT_RPM": "3"])
        var statuses: [Int] = []
        var last: TestResponse?
        for _ in 0..<5 {
            let response = try gateway.messages(messagesBody())
            statuses.append(response.status)
            last = response
        }
        XCTAssertEqual(statuses, [200, 200, 200, 429, 429])
        let limited = try XCTUnwrap(last)
        XCTAssertNotNil(limited.headers["retry-after"])
        XCTAssertEqual(limited.headers["anthropic-ratelimit-requests-limit"], "3")
        XCTAssertEqual(limited.headers["anthropic-ratelimit-requests-remaining"], "0")
        XCTAssertNotNil(limited.headers["anthropic-ratelimit-requests-reset"])
        XCTAssertTrue(limited.text.contains("rate_limit_error"))
        // count_tokens is never charged.
        let count = try httpRequest(port: gateway.port, path: "/v1/messages/count_tokens", headers: ["x-api-key": "test-key"],
                                    json: ["model": "claude-sonnet-4-5", "messages": [["role": "user", "content": "x"]]])
        XCTAssertEqual(count.status, 200)
    }

    func testDeterministicAnswersAreCachedPerKeyAndReplayedAsStreams() throws {
        upstream = try FakeUpstream()
        gateway = try GatewayUnderTest(upstream: upstream, settings: [
            "CACHE_ENABLED": "true", "GATEWAY_API_KEYS": "key-one,key-two",
        ])
        let body = messagesBody("cache me", extra: ["temperature": 0])
        let first = try gateway.messages(body, headers: ["x-api-key": "key-one"])
        XCTAssertEqual(first.headers["x-gateway-cache"], "MISS")
        let requestsAfterFirst = try upstream.stats()["requests"] as? Int ?? 0
        let second = try gateway.messages(body, headers: ["x-api-key": "key-one"])
        XCTAssertEqual(second.headers["x-gateway-cache"], "HIT")
        XCTAssertEqual(try upstream.stats()["requests"] as? Int ?? 0, requestsAfterFirst)
        let firstMessage = try XCTUnwrap(try first.json() as? [String: Any])
        let secondMessage = try XCTUnwrap(try second.json() as? [String: Any])
        XCTAssertEqual(firstMessage["content"] as? NSArray, secondMessage["content"] as? NSArray)
        XCTAssertNotEqual(firstMessage["id"] as? String, secondMessage["id"] as? String)

        // Another key never sees key-one's answer.
        let other = try gateway.messages(body, headers: ["x-api-key": "key-two"])
        XCTAssertEqual(other.headers["x-gateway-cache"], "MISS")

        // A streamed request for the same question is served from the cache as a proper stream.
        var streamed = body
        streamed["stream"] = true
        let stream = try gateway.messages(streamed, headers: ["x-api-key": "key-one"])
        XCTAssertEqual(stream.headers["x-gateway-cache"], "HIT")
        XCTAssertEqual(stream.events.first?.name, "message_start")
        XCTAssertEqual(stream.events.last?.name, "message_stop")

        // Non-deterministic requests bypass the cache.
        let warm = try gateway.messages(messagesBody("cache me", extra: ["temperature": 0.7]), headers: ["x-api-key": "key-one"])
        XCTAssertEqual(warm.headers["x-gateway-cache"], "BYPASS")
    }
}
