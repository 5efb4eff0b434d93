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

    /// curl's own timers run on the event loop that drives it: a connect that never completes (a listener whose
    /// accept queue is full drops the SYN) ends at UPSTREAM_CONNECT_TIMEOUT_MS through curl's timer callback.
    func testAConnectThatNeverCompletesEndsAtTheConnectTimeout() throws {
        let listener = try FullBacklogListener()
        defer { listener.close() }
        let gateway = try GatewayUnderTest(upstream: nil, settings: [
            "CEREBRAS_BASE_URL": "http://127.0.0.1:\(listener.port)/v1",
            "UPSTREAM_CONNECT_TIMEOUT_MS": "300", "UPSTREAM_MAX_RETRIES": "0",
        ])
        self.gateway = gateway
        let started = Date()
        let response = try gateway.messages(messagesBody())
        let elapsed = Date().timeIntervalSince(started)
        XCTAssertEqual(response.status, 504, response.text)
        XCTAssertTrue(response.text.contains("timed out") || response.text.contains("Timeout"), response.text)
        XCTAssertGreaterThan(elapsed, 0.25, "not before the connect timeout")
        XCTAssertLessThan(elapsed, 5, "the timer fired: a dropped SYN alone would wait for the kernel's retries")
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

/// A loopback listener that never accepts, with its accept queue filled: further connects get no answer to their
/// SYN and stay pending.
private final class FullBacklogListener {
    let port: Int
    private let descriptor: Int32
    private var fillers: [Int32] = []

    init() throws {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        self.descriptor = descriptor
        guard let port = Loopback.listen(descriptor, backlog: 0) else { throw POSIXError(.EADDRNOTAVAIL) }
        self.port = port
        // Fill the accept queue (a backlog of 0 holds one connection; a few more to be sure).
        for _ in 0..<4 {
            let filler = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
            Loopback.connect(filler, port: port)
            fillers.append(filler)
        }
        usleep(100_000)
    }

    func close() {
        for filler in fillers { Glibc.close(filler) }
        Glibc.close(descriptor)
    }
}
