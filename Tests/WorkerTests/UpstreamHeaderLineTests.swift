import NIOHTTP1
import XCTest

@testable import Worker

/// The byte-level reading of curl's header lines: which fields are kept, under which name, and the status code.
final class UpstreamHeaderLineTests: XCTestCase {
    private func keptName(_ name: String) -> String? {
        Array(name.utf8).withUnsafeBufferPointer { UpstreamTransfer.keptName($0) }
    }

    private func statusCode(_ line: String) -> Int {
        Array(line.utf8).withUnsafeBufferPointer { UpstreamTransfer.statusCode(ofStatusLine: $0) }
    }

    func testKeptNamesAreLowercasedWhateverTheirCase() {
        XCTAssertEqual(keptName("content-type"), "content-type")
        XCTAssertEqual(keptName("Content-Type"), "content-type")
        XCTAssertEqual(keptName("RETRY-AFTER"), "retry-after")
        XCTAssertEqual(keptName("X-RateLimit-Remaining-Tokens-Minute"), "x-ratelimit-remaining-tokens-minute")
        // Every field Cerebras sends, among them names of the same length.
        for name in ["content-type", "retry-after", "x-ratelimit-limit-requests-day", "x-ratelimit-reset-requests-day",
                     "x-ratelimit-limit-tokens-minute", "x-ratelimit-reset-tokens-minute",
                     "x-ratelimit-remaining-requests-day", "x-ratelimit-remaining-tokens-minute"] {
            XCTAssertEqual(keptName(name.uppercased()), name)
        }
        // A rate-limit field Cerebras does not send today is kept too, under its lowercased name.
        XCTAssertEqual(keptName("X-RateLimit-Limit-Tokens-Hour"), "x-ratelimit-limit-tokens-hour")
    }

    /// The fields as a transfer keeps them (names through `keptName`) reach the client as Anthropic's token figures,
    /// each from its own field: two of the three names are the same length.
    func testTheTokenFiguresAreReadFromTheKeptFields() throws {
        let lines = [("Content-Type", "text/event-stream"), ("X-RateLimit-Reset-Requests-Day", "33011.4"),
                     ("X-RateLimit-Reset-Tokens-Minute", "10.2"), ("x-ratelimit-limit-requests-day", "1000"),
                     ("X-RATELIMIT-LIMIT-TOKENS-MINUTE", "60000"), ("x-ratelimit-remaining-tokens-minute", "59000")]
        let kept = try lines.map { (name: try XCTUnwrap(keptName($0.0)), value: $0.1) }
        let headers = HTTPHeaders(UpstreamHeaderMapping.rateLimitHeaders(from: kept, now: 0))
        XCTAssertEqual(headers["anthropic-ratelimit-tokens-limit"], ["60000"])
        XCTAssertEqual(headers["anthropic-ratelimit-tokens-remaining"], ["59000"])
        XCTAssertEqual(headers["anthropic-ratelimit-tokens-reset"], ["1970-01-01T00:00:11Z"])
        XCTAssertTrue(UpstreamHeaderMapping.rateLimitHeaders(from: Array(kept.prefix(4)), now: 0)
            .contains { $0.0 == "anthropic-ratelimit-tokens-reset" })
        XCTAssertEqual(UpstreamHeaderMapping.rateLimitHeaders(from: Array(kept.prefix(2)), now: 0).count, 0)
    }

    func testOtherFieldsAreDropped() {
        for name in ["", "date", "content-length", "content-typ", "content-types", "x-ratelimit-", "x-ratelimit",
                     "x-request-id", "retry-after-ms", "cONTENT-tYPE\u{0}"] {
            XCTAssertNil(keptName(name), name)
        }
    }

    func testStatusCodeOfAStatusLine() {
        XCTAssertEqual(statusCode("HTTP/1.1 200 OK"), 200)
        XCTAssertEqual(statusCode("HTTP/1.1 429 Too Many Requests"), 429)
        XCTAssertEqual(statusCode("HTTP/2 503"), 503)
        XCTAssertEqual(statusCode("HTTP/1.1 100 Continue"), 100)
        XCTAssertEqual(statusCode("HTTP/1.1"), 0)
        XCTAssertEqual(statusCode("HTTP/1.1 20 OK"), 0)
        XCTAssertEqual(statusCode("HTTP/1.1 2000 OK"), 0)
        XCTAssertEqual(statusCode("HTTP/1.1 2x0 OK"), 0)
    }
}
