import XCTest

@testable import Shared

/// How a metric series renders its labels: the text the master aggregates by and Prometheus reads.
final class MetricsSeriesTests: XCTestCase {
    func testLabelsAreRenderedInKeyOrder() {
        XCTAssertEqual(MetricsSnapshot.Series("requests", []).labels, "")
        XCTAssertEqual(MetricsSnapshot.Series("requests", [("route", "messages")]).labels, #"route="messages""#)
        let sorted = MetricsSnapshot.Series("requests", [("model", "m"), ("route", "messages"), ("status", "2xx")])
        let shuffled = MetricsSnapshot.Series("requests", [("status", "2xx"), ("model", "m"), ("route", "messages")])
        XCTAssertEqual(sorted.labels, #"model="m",route="messages",status="2xx""#)
        XCTAssertEqual(shuffled, sorted)
        XCTAssertEqual(MetricsSnapshot.Series("x", [("b", "1"), ("a", "2"), ("ab", "3"), ("A", "4")]).labels,
                       #"A="4",a="2",ab="3",b="1""#)
    }

    func testValuesAreEscapedForTheExpositionFormat() {
        let series = MetricsSnapshot.Series("requests", [("model", "a\\b\"c\nd"), ("note", "é ✓ plain")])
        XCTAssertEqual(series.labels, #"model="a\\b\"c\nd",note="é ✓ plain""#)
        XCTAssertEqual(MetricsSnapshot.Series("x", [("k", "")]).labels, #"k="""#)
    }
}
