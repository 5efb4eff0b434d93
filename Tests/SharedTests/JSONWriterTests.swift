import XCTest

@testable import Shared

/// The writer's own byte producers: integers written in place, raw text and escapes.
final class JSONWriterTests: XCTestCase {
    private func written(_ body: (inout JSONWriter) -> Void) -> String {
        var writer = JSONWriter()
        body(&writer)
        return String(decoding: writer.takeBytes(), as: UTF8.self)
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

/// The writer's own buffer (room that grows, bytes handed over or lent, a copy that writes on its own), against the
/// same pieces appended to a plain array.
final class JSONWriterBufferTests: XCTestCase {
    /// One piece of output, written through the writer and, independently, as the bytes it must give.
    private enum Piece {
        case literal, text(String), string(String), int(Int), bytes([UInt8]), bool(Bool)

        func write(to writer: inout JSONWriter) {
            switch self {
            case .literal: writer.raw("event: x\n")
            case .text(let text): writer.rawText(text)
            case .string(let text): writer.string(text)
            case .int(let value): writer.int(value)
            case .bytes(let bytes): writer.rawBytes(bytes)
            case .bool(let flag): writer.bool(flag)
            }
        }

        var expected: [UInt8] {
            switch self {
            case .literal: return Array("event: x\n".utf8)
            case .text(let text): return Array(text.utf8)
            case .string(let text): return Self.quoted(text)
            case .int(let value): return Array(String(value).utf8)
            case .bytes(let bytes): return bytes
            case .bool(let flag): return Array((flag ? "true" : "false").utf8)
            }
        }

        /// JSON's escaping as a table: the two-character escapes, `\u00xx` for the other control bytes.
        private static let escapes: [UInt8: String] = [
            0x22: #"\""#, 0x5C: #"\\"#, 0x0A: #"\n"#, 0x0D: #"\r"#, 0x09: #"\t"#, 0x08: #"\b"#, 0x0C: #"\f"#,
        ]

        private static func quoted(_ text: String) -> [UInt8] {
            var out: [UInt8] = [UInt8(ascii: "\"")]
            for byte in text.utf8 {
                if let escape = escapes[byte] {
                    out += Array(escape.utf8)
                } else if byte < 0x20 {
                    out += Array(String(format: #"\u%04x"#, byte).utf8)
                } else {
                    out.append(byte)
                }
            }
            out.append(UInt8(ascii: "\""))
            return out
        }
    }

    private func randomText(_ generator: inout some RandomNumberGenerator) -> String {
        let alphabet: [Character] = ["a", "Z", "7", " ", "\"", "\\", "\n", "\r", "\u{8}", "\u{C}", "\u{1}", "\u{1F}", "é",
                                     "✓", "😀", "\t"]
        // Past 4,096 bytes a string is escaped run by run instead of in room for its worst case.
        let length = [0, 1, 3, 15, 16, 17, 40, 300, 4_096, 4_097].randomElement(using: &generator)!
        let plain = Bool.random(using: &generator)
        return String((0..<length).map { _ in plain ? "x" : alphabet.randomElement(using: &generator)! })
    }

    private func randomPiece(_ generator: inout some RandomNumberGenerator) -> Piece {
        switch Int.random(in: 0..<6, using: &generator) {
        case 0: return .literal
        case 1: return .text(randomText(&generator))
        case 2: return .string(randomText(&generator))
        case 3: return .int(Int.random(in: -1_000_000...1_000_000, using: &generator))
        case 4: return .bytes((0..<Int.random(in: 0...200, using: &generator)).map { UInt8(truncatingIfNeeded: $0) })
        default: return .bool(Bool.random(using: &generator))
        }
    }

    func testPiecesComeOutAsTheyWereWrittenWhateverTheStartingRoom() {
        var generator = SystemRandomNumberGenerator()
        for capacity in [0, 1, 7, 64, 256] {
            for _ in 0..<200 {
                var writer = JSONWriter(capacity: capacity)
                var expected: [UInt8] = []
                for _ in 0..<Int.random(in: 0...40, using: &generator) {
                    let piece = randomPiece(&generator)
                    piece.write(to: &writer)
                    expected += piece.expected
                    XCTAssertEqual(writer.count, expected.count)
                }
                XCTAssertEqual(writer.isEmpty, expected.isEmpty)
                XCTAssertEqual(writer.withBytes { Array($0) }, expected, "capacity \(capacity)")
                XCTAssertEqual(writer.takeBytes(), expected, "capacity \(capacity)")
                XCTAssertEqual(writer.count, 0, "handing the bytes over empties the writer")
            }
        }
    }

    func testAWriterGoesOnAfterItsBytesAreHandedOverOrForgotten() {
        var writer = JSONWriter(capacity: 4)
        writer.string("first")
        let handedOver = writer.takeBytes()
        writer.string("second")
        XCTAssertEqual(String(decoding: handedOver, as: UTF8.self), "\"first\"", "what was handed over stays")
        XCTAssertEqual(writer.withBytes { String(decoding: $0, as: UTF8.self) }, "\"second\"")
        writer.removeAll()
        XCTAssertTrue(writer.isEmpty)
        writer.int(42)
        XCTAssertEqual(String(decoding: writer.takeBytes(), as: UTF8.self), "42")
    }

    func testACopiedWriterWritesOnItsOwn() {
        var original = JSONWriter(capacity: 64)
        original.raw("[1")
        var copy = original
        copy.raw(",2]")
        original.raw(",3]")
        XCTAssertEqual(String(decoding: original.takeBytes(), as: UTF8.self), "[1,3]")
        XCTAssertEqual(String(decoding: copy.takeBytes(), as: UTF8.self), "[1,2]")
    }
}
