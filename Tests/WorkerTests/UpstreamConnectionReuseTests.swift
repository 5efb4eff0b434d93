import Foundation
import NIOConcurrencyHelpers
import TestSupport
import XCTest

@testable import Worker

/// An upstream client keeps the connection of a transfer that ended for the next one however many transfers are under
/// way on its loop, and keeps no more than its idle allowance once they are over.
final class UpstreamConnectionReuseTests: XCTestCase {
    /// Counts the transfers that ended and keeps the errors of those that failed.
    private final class Endings: UpstreamTransferDelegate {
        let ended = DispatchSemaphore(value: 0)
        let failures = NIOLockedValueBox<[String]>([])

        func upstreamReceivedHead(status: Int, headers: [(name: String, value: String)]) {}

        func upstreamReceived(_ bytes: UnsafeRawBufferPointer) -> Bool { true }

        func upstreamCompleted(error: UpstreamTransportError?) {
            if let error { failures.withLockedValue { $0.append("\(error)") } }
            ended.signal()
        }
    }

    /// 300 transfers under way at all times, each one that ends replaced by a new one, 900 in all. curl counts the
    /// connections in use against its limit of kept connections; with that limit fixed at the 256 idle ones a loop
    /// keeps, each transfer that ended beyond it closed its connection and its successor opened one (900
    /// connections here). Once the 900 are over, the loop keeps about 256 idle connections open, not 300.
    func testTransfersBeyondTheIdleAllowanceReuseTheConnectionsOfThoseThatEnded() throws {
        let upstream = try FakeUpstream(threads: 2)
        defer { upstream.stop() }
        let underWay = 300
        let total = 900
        let idleAllowance = 256
        let acceptedBefore = try XCTUnwrap(upstream.stats()["connections"] as? Int)
        try withUpstreamClient { client in
            let endings = Endings()
            func start(_ index: Int) {
                let body = #"{"model":"m","stream":true,"messages":[{"role":"user","#
                    + #""content":"[[scenario:text;delay_ms=30]] request \#(index)"}]}"#
                _ = client.start(
                    UpstreamRequest(url: UpstreamURL(upstream.baseURL + "/chat/completions"), apiKey: "csk-test",
                                    body: UpstreamBody(Array(body.utf8)), connectTimeoutMs: 10_000, verifyTLS: true),
                    delegate: endings)
            }
            for index in 0..<underWay { start(index) }
            for index in underWay..<total {
                XCTAssertEqual(endings.ended.wait(timeout: .now() + 30), .success, "a transfer did not end")
                start(index)
            }
            for _ in 0..<underWay {
                XCTAssertEqual(endings.ended.wait(timeout: .now() + 30), .success, "a transfer did not end")
            }
            XCTAssertEqual(endings.failures.withLockedValue { $0 }, [])

            // Every stats query is a connection of its own, counted and open while it is answered.
            let stats = try upstream.stats()
            let accepted = try XCTUnwrap(stats["connections"] as? Int) - acceptedBefore - 1
            XCTAssertGreaterThan(accepted, idleAllowance, "no more than the idle allowance were ever under way")
            XCTAssertLessThan(accepted, underWay + 30, "connections were closed as their transfers ended and reopened")
            // The client closes its surplus as the last transfers end (one over the allowance as each ends, a few
            // more if several end in one of curl's calls); the fake hears of each close a moment later.
            let slack = 4
            var open = try XCTUnwrap(stats["open_connections"] as? Int) - 1
            _ = try eventually(every: 0.05) {
                open = try XCTUnwrap(upstream.stats()["open_connections"] as? Int) - 1
                return open <= idleAllowance + slack
            }
            XCTAssertLessThanOrEqual(open, idleAllowance + slack, "idle connections kept beyond the allowance")
            XCTAssertGreaterThanOrEqual(open, idleAllowance - slack, "idle connections closed within the allowance")
        }
    }
}
