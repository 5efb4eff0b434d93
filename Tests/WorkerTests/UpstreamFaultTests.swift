import Foundation
import TestSupport
import XCTest

/// Upstream faults not covered by the message tests: nobody listening, 429 storms, broken bodies.
final class UpstreamFaultTests: XCTestCase {
    var upstream: FakeUpstream?
    var gateway: GatewayUnderTest?

    override func tearDown() {
        gateway?.stop()
        upstream?.stop()
    }

    func testConnectionRefusedIsRetriedThenOverloaded() throws {
        // Port 9 on loopback: nothing listens there.
        let gateway = try GatewayUnderTest(upstream: nil, settings: ["UPSTREAM_MAX_RETRIES": "2"])
        self.gateway = gateway
        let started = Date()
        let response = try gateway.messages(messagesBody())
        XCTAssertEqual(response.status, 529)
        XCTAssertTrue(response.text.contains("overloaded_error"))
        XCTAssertLessThan(Date().timeIntervalSince(started), 10, "retries are bounded")
        let stream = try gateway.messages(messagesBody(stream: true))
        XCTAssertEqual(stream.events.map(\.name), ["message_start", "error"],
                       "a stream whose upstream never answered ends with an error event")
    }

    func testRateLimitStormWithoutRetryAfterBacksOffAndGivesUp() throws {
        let upstream = try FakeUpstream()
        self.upstream = upstream
        gateway = try GatewayUnderTest(upstream: upstream)
        let response = try XCTUnwrap(gateway).messages(messagesBody(scenario: "rate_limited;retry_after=none"))
        XCTAssertEqual(response.status, 429)
        XCTAssertEqual(try upstream.stats()["requests"] as? Int, 3, "the first attempt and two retries")
        XCTAssertNil(response.headers["retry-after"], "nothing to pass on")
    }

    func testRateLimitWithAFarRetryAfterIsReportedNotWaitedFor() throws {
        let upstream = try FakeUpstream()
        self.upstream = upstream
        gateway = try GatewayUnderTest(upstream: upstream)
        let started = Date()
        let response = try XCTUnwrap(gateway).messages(messagesBody(scenario: "rate_limited;retry_after=120"))
        XCTAssertEqual(response.status, 429)
        XCTAssertEqual(response.headers["retry-after"], "120")
        XCTAssertLessThan(Date().timeIntervalSince(started), 5)
        XCTAssertEqual(try upstream.stats()["requests"] as? Int, 1, "a wait beyond the retry budget is not attempted")
    }

    func testMalformedUpstreamChunkGivesANonStreamedClientA500() throws {
        let upstream = try FakeUpstream()
        self.upstream = upstream
        // The gateway always streams from upstream; a broken chunk fails the folded message cleanly.
        gateway = try GatewayUnderTest(upstream: upstream)
        let response = try XCTUnwrap(gateway).messages(messagesBody(scenario: "malformed"))
        XCTAssertEqual(response.status, 500)
        XCTAssertTrue(response.text.contains("api_error"))
    }
}
