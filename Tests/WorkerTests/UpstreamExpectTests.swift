import Foundation
import NIOConcurrencyHelpers
import TestSupport
import XCTest

@testable import Worker

/// No upstream request carries `Expect: 100-continue`, which would hold a large body back until the server answers
/// `100 Continue` (or for a second). The gateway lists an empty `Expect:` only for bodies over
/// `UpstreamHeaderList.expectThreshold`, where libcurl would announce them; these tests hold the libcurl the gateway
/// runs with to that threshold, one byte either side of it.
final class UpstreamExpectTests: XCTestCase {
    private final class Ending: UpstreamTransferDelegate {
        let ended = DispatchSemaphore(value: 0)
        let outcome = NIOLockedValueBox<(status: Int, error: String?)>((0, nil))

        func upstreamReceivedHead(status: Int, headers: [(name: String, value: String)]) {
            outcome.withLockedValue { $0.status = status }
        }

        func upstreamReceived(_ bytes: UnsafeRawBufferPointer) -> Bool { true }

        func upstreamCompleted(error: UpstreamTransportError?) {
            outcome.withLockedValue { $0.error = error.map { "\($0)" } }
            ended.signal()
        }
    }

    private static let bodyHead = Array(#"{"model":"m","messages":[{"role":"user","content":""#.utf8)
    private static let bodyTail = Array(#""}]}"#.utf8)

    /// A chat request of exactly `size` bytes, its message `a` repeated.
    private func chatBody(size: Int) -> [UInt8] {
        Self.bodyHead + [UInt8](repeating: UInt8(ascii: "a"), count: messageLength(size)) + Self.bodyTail
    }

    private func messageLength(_ bodySize: Int) -> Int { bodySize - Self.bodyHead.count - Self.bodyTail.count }

    private func upstreamFields(forBodyOf size: Int, upstream: FakeUpstream,
                                client: UpstreamClient) throws -> [String: Any] {
        let body = chatBody(size: size)
        XCTAssertEqual(body.count, size)
        let ending = Ending()
        _ = client.start(
            UpstreamRequest(url: UpstreamURL(upstream.baseURL + "/chat/completions"), apiKey: "csk-test",
                            body: UpstreamBody(body), connectTimeoutMs: 10_000, verifyTLS: true),
            delegate: ending)
        XCTAssertEqual(ending.ended.wait(timeout: .now() + 30), .success, "the transfer did not end")
        let outcome = ending.outcome.withLockedValue { $0 }
        XCTAssertNil(outcome.error)
        XCTAssertEqual(outcome.status, 200)
        let stats = try upstream.stats()
        let received = try XCTUnwrap(stats["last_request"] as? [String: Any])
        XCTAssertEqual((received["messages"] as? [[String: Any]])?.first?["content"] as? String,
                       String(repeating: "a", count: messageLength(size)), "the fake did not get this body whole")
        return try XCTUnwrap(stats["last_headers"] as? [String: Any])
    }

    func testNoBodyIsAnnouncedWithExpectOnEitherSideOfCurlsThreshold() throws {
        let upstream = try FakeUpstream()
        defer { upstream.stop() }
        let threshold = UpstreamHeaderList.expectThreshold
        try withUpstreamClient { client in
            for size in [512, threshold, threshold + 1, 3 * threshold] {
                let fields = try upstreamFields(forBodyOf: size, upstream: upstream, client: client)
                XCTAssertNil(fields["expect"], "a body of \(size) bytes went with Expect: \(fields["expect"] ?? "")")
                XCTAssertEqual(fields["content-length"] as? String, "\(size)")
                XCTAssertEqual(fields["content-type"] as? String, "application/json")
                XCTAssertEqual(fields["user-agent"] as? String, "cerebras-gateway")
                XCTAssertEqual(fields["authorization"] as? String, "Bearer csk-test")
            }
        }
    }
}
