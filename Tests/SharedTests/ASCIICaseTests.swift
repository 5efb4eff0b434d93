import Shared
import XCTest

/// Case-insensitive matching of ASCII names on raw bytes, eight bytes a step, against the byte-by-byte rule.
final class ASCIICaseTests: XCTestCase {
    func testAWordIsLowercasedAsEachOfItsBytes() {
        var generator = SystemRandomNumberGenerator()
        var words: [UInt64] = (0..<20_000).map { _ in UInt64.random(in: 0...UInt64.max, using: &generator) }
        // Every byte value in every position, next to every kind of neighbour (letters, the bytes around `A` and
        // `Z`, bytes with the high bit).
        for byte in 0...255 {
            for position in 0..<8 {
                for neighbour: UInt64 in [0x00, 0x40, 0x41, 0x5A, 0x5B, 0x60, 0x7F, 0x80, 0xC1, 0xDA, 0xFF] {
                    words.append(neighbour &* 0x0101_0101_0101_0101 & ~(0xFF << (8 * position))
                                 | UInt64(byte) << (8 * position))
                }
            }
        }
        for word in words {
            var expected: UInt64 = 0
            for position in 0..<8 {
                expected |= UInt64(UInt8(truncatingIfNeeded: word >> (8 * position)).asciiLowercased) << (8 * position)
            }
            XCTAssertEqual(ASCIICase.lowercased(word), expected, String(word, radix: 16))
        }
    }

    func testNamesMatchInAnyLetterCaseAndNothingElse() {
        func matches(_ text: [UInt8], _ name: StaticString) -> Bool {
            text.withUnsafeBufferPointer { $0.equalsIgnoringASCIICase(name) }
        }
        let name: StaticString = "x-ratelimit-remaining-tokens-minute"
        let lower = Array("x-ratelimit-remaining-tokens-minute".utf8)
        XCTAssertTrue(matches(lower, name))
        XCTAssertTrue(matches(Array("X-RateLimit-Remaining-Tokens-MINUTE".utf8), name))
        XCTAssertFalse(matches(Array("x-ratelimit-remaining-tokens-minutes".utf8), name), "one byte more")
        XCTAssertFalse(matches(Array(lower.dropLast()), name), "one byte fewer")
        for index in lower.indices {
            for replacement: UInt8 in [0x00, 0x20, 0x2D, 0x40, 0x5B, 0x60, 0x7B, 0xC1, lower[index] ^ 0x20] {
                guard replacement != lower[index] else { continue }
                var changed = lower
                changed[index] = replacement
                // A letter whose case alone changed still matches; any other byte changed does not.
                let caseOnly = replacement == lower[index] ^ 0x20 && lower[index] >= 0x61 && lower[index] <= 0x7A
                XCTAssertEqual(matches(changed, name), caseOnly, "byte \(index) as \(replacement)")
            }
        }
        XCTAssertTrue(matches([], ""))
        XCTAssertTrue(matches(Array("Content-Type".utf8), "content-type"))
        XCTAssertFalse(matches(Array("content-typf".utf8), "content-type"))
    }

    func testAPrefixMatchesInAnyLetterCase() {
        XCTAssertTrue("application/json".hasPrefixIgnoringASCIICase("application/json"))
        XCTAssertTrue("Application/JSON; charset=utf-8".hasPrefixIgnoringASCIICase("application/json"))
        XCTAssertFalse("application/jso".hasPrefixIgnoringASCIICase("application/json"), "shorter than the prefix")
        XCTAssertFalse("text/event-stream".hasPrefixIgnoringASCIICase("application/json"))
        XCTAssertFalse(" application/json".hasPrefixIgnoringASCIICase("application/json"))
        XCTAssertFalse("applicätion/json".hasPrefixIgnoringASCIICase("application/json"))
        XCTAssertTrue("".hasPrefixIgnoringASCIICase(""))
        XCTAssertTrue("anything".hasPrefixIgnoringASCIICase(""))
    }
}
