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
