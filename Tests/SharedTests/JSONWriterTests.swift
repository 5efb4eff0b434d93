import XCTest

@testable import Shared

/// The writer's own byte producers: integers written in place, raw text and escapes.
final class JSONWriterTests: XCTestCase {
    private func written(_ body: (inout JSONWriter) -> Void) -> String {
        var writer = JSONWriter()
        body(&writer)
        return String(decoding: writer.bytes, as: UTF8.self)
    }

    func testIntegersMatchTheirDescription() {
        var values = [0, 1, -1, 9, 10, -10, 42, 99, 100, 1_000_000, -987_654_321, Int.max, Int.min, Int.max - 1,
                      Int.min + 1]
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<2_000 { values.append(Int.random(in: Int.min...Int.max, using: &generator) >> Int.random(in: 0...63)) }
        for value in values {
            XCTAssertEqual(written { $0.int(value) }, String(value))
        }
        XCTAssertEqual(written { $0.raw("["); $0.int(3); $0.raw(","); $0.int(-4); $0.raw("]") }, "[3,-4]")
    }

    func testRawTextAndLiteralsAreCopiedAsTheyAre() {
        let dynamic = String(repeating: "é✓", count: 40) + "\u{1F600}"
        XCTAssertEqual(written { $0.rawText(dynamic) }, dynamic)
        XCTAssertEqual(written { $0.raw("event: ping\n") }, "event: ping\n")
        XCTAssertEqual(written { $0.rawText(Substring("abc").description) }, "abc")
    }

    func testControlCharactersAreEscapedWithLowercaseHex() {
        XCTAssertEqual(written { $0.string("a\u{0}b\u{1F}c\u{0B}\"\\\n") }, #""a\u0000b\u001fc\u000b\"\\\n""#)
    }
}
