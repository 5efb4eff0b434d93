import TestSupport
import XCTest

@testable import Worker

/// The upstream URL is handed to curl parsed once (`CURLOPT_CURLU`); a URL curl refuses falls back to the string,
/// so each request fails with curl's own error, as it did before.
final class UpstreamURLTests: XCTestCase {
    func testAGoodURLIsParsedOnceAndABadOneIsLeftToCurl() throws {
        try withUpstreamClient { _ in
            XCTAssertNotNil(UpstreamURL("http://127.0.0.1:9/v1/chat/completions").parsed)
            XCTAssertNotNil(UpstreamURL("https://api.cerebras.ai/v1/chat/completions").parsed)
            XCTAssertNil(UpstreamURL("http://bad host/v1/chat/completions").parsed)
        }
    }

    /// Only an HTTPS upstream can offer HTTP/2 in its handshake, so only a request to one waits to share a
    /// connection (Tests/e2e/test_upstream_multiplexing.py drives both kinds through curl).
    func testAnHTTPSURLIsToldFromAPlainOne() throws {
        try withUpstreamClient { _ in
            XCTAssertTrue(UpstreamURL("https://api.cerebras.ai/v1/chat/completions").isHTTPS)
            XCTAssertFalse(UpstreamURL("http://127.0.0.1:9/v1/chat/completions").isHTTPS)
            XCTAssertFalse(UpstreamURL("http://https.example/v1/chat/completions").isHTTPS)
        }
    }

    func testARequestToAURLCurlRefusesFailsCleanly() throws {
        let gateway = try GatewayUnderTest(upstream: nil, settings: [
            "CEREBRAS_BASE_URL": "http://bad host/v1", "UPSTREAM_MAX_RETRIES": "0",
        ])
        defer { gateway.stop() }
        let response = try gateway.messages(messagesBody())
        XCTAssertGreaterThanOrEqual(response.status, 500, response.text)
        let error = try XCTUnwrap((try response.json() as? [String: Any])?["error"] as? [String: Any])
        XCTAssertNotNil(error["type"] as? String)
        XCTAssertEqual(try httpRequest(port: gateway.port, method: "GET", path: "/health").status, 200)
    }
}
