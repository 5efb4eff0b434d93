import Foundation
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

    func testLongAndBridgedValuesAreCopiedWhole() {
        let long = String(repeating: "llama-3.3-70b-", count: 40)
        let escaped = String(repeating: "\"", count: 300)
        let series = MetricsSnapshot.Series("tokens", [("direction", "output"), ("model", long), ("z", escaped)])
        XCTAssertEqual(series.labels, "direction=\"output\",model=\"\(long)\",z=\"" + String(repeating: "\\\"", count: 300) + "\"")
        let bridged = NSString(string: "zai-glm-4.7 (bridged)") as String
        XCTAssertEqual(MetricsSnapshot.Series("x", [("model", bridged)]).labels, #"model="zai-glm-4.7 (bridged)""#)
    }
}
