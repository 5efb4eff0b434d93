@testable import Shared
import TestSupport
import Testing

/// Edge cases of the parser's and writer's block-at-a-time string scanning and its hand-written UTF-8 check:
/// the interesting byte is placed at every offset so it lands in the 16-byte step, the 8-byte step and the
/// byte-by-byte tail.
@Suite("JSON string scanning")
struct JSONStringScanningTests {
    private static let padding = Array("abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMN".utf8)

    private func quoted(_ content: [UInt8]) -> [UInt8] { [0x22] + content + [0x22] }

    private func parseError(_ bytes: [UInt8]) -> JSONParseError? {
        do {
            _ = try JSONParser.parse(bytes)
            return nil
        } catch {
            return error as? JSONParseError
        }
    }

    @Test("ill-formed UTF-8 anywhere in an otherwise ASCII string is rejected at the string's start", arguments: [
        [0xFF], [0x80], [0xC0, 0x80], [0xC1, 0xBF], [0xE0, 0x80, 0x80], [0xED, 0xA0, 0x80], [0xF4, 0x90, 0x80, 0x80],
        [0xF5, 0x80, 0x80, 0x80], [0xC3], [0xE2, 0x82], [0xF0, 0x9F, 0x98], [0xE2, 0x28, 0xA1], [0xC3, 0xA9, 0xA9],
    ] as [[UInt8]])
    func illFormed(_ sequence: [UInt8]) {
        for offset in 0...Self.padding.count {
            let content = Array(Self.padding[..<offset]) + sequence + Array(Self.padding[offset...])
            #expect(parseError(quoted(content)) == JSONParseError(reason: .invalidUTF8, offset: 1), "\(offset)")
            // After an escape, the decoded text is checked as a whole.
            let escaped = Array(#"\n"#.utf8) + content + Array(#"\u00e9"#.utf8)
            #expect(parseError(quoted(escaped)) == JSONParseError(reason: .invalidUTF8, offset: 1), "\(offset)")
            // Truncated right before the closing quote, where no later byte can complete it.
            #expect(parseError(quoted(Array(Self.padding[..<offset]) + sequence)) != nil, "\(offset)")
        }
    }

    @Test("well-formed multi-byte characters at every alignment, with and without escapes")
    func multiByte() throws {
        for character in ["é", "€", "你", "🎉", "\u{10FFFF}", "\u{FFFD}", "\u{D7FF}", "\u{E000}"] {
            for offset in 0...Self.padding.count {
                let prefix = String(decoding: Self.padding[..<offset], as: UTF8.self)
                let suffix = String(decoding: Self.padding[offset...], as: UTF8.self)
                let text = prefix + character + suffix
                #expect(try JSONParser.parse(quoted(Array(text.utf8))) == .string(text))
                let escaped = Array((prefix + "\\n" + character + "\\u00e9" + suffix).utf8)
                #expect(try JSONParser.parse(quoted(escaped)) == .string(prefix + "\n" + character + "é" + suffix))
            }
        }
    }

    @Test("quotes, backslashes and control characters are found at every offset")
    func specialBytes() throws {
        for offset in 0...Self.padding.count {
            let head = Array(Self.padding[..<offset])
            let tail = Array(Self.padding[offset...])
            let headText = String(decoding: head, as: UTF8.self)
            let tailText = String(decoding: tail, as: UTF8.self)
            let escapes = head + Array(#"\"\\\/"#.utf8) + tail
            #expect(try JSONParser.parse(quoted(escapes)) == .string(headText + "\"\\/" + tailText))
            let controlCharacter = JSONParseError(reason: .controlCharacterInString, offset: 1 + offset)
            #expect(parseError(quoted(head + [0x1F] + tail)) == controlCharacter)
            #expect(parseError(quoted(head + [0x00] + tail)) == controlCharacter)
            #expect(try JSONParser.parse(quoted(head + [0x7F] + tail)) == .string(headText + "\u{7F}" + tailText))
            // The writer escapes the same bytes at the same offsets.
            let raw = headText + "\"\u{01}\\\n" + tailText
            #expect(JSONValue.string(raw).serializedString == "\"" + headText + #"\"\u0001\\\n"# + tailText + "\"")
            let multiByte = headText + "é€🎉" + tailText
            #expect(JSONValue.string(multiByte).serializedString == "\"\(multiByte)\"")
        }
    }

    @Test("a document that ends inside a string or an escape is an unexpected end")
    func endsInside() {
        for document in [#""abcdefghijkl"#, #""abcdefghijkl\"#, #""abcdefghijkl\u00"#, #""abcdefghijkl\ud83c\u"#,
                         #""abcdefghijkl\""#, #""abcdefghijklé"#] {
            #expect(parseError(Array(document.utf8))?.reason == .unexpectedEnd, "\(document)")
        }
        #expect(parseError(Array(#""abcdefghijkl\q""#.utf8)) == JSONParseError(reason: .invalidEscape, offset: 14))
        #expect(parseError(Array(#""ab\u12"x"#.utf8)) == JSONParseError(reason: .invalidEscape, offset: 7))
        let controlAfterEscape = Array(#""ab\nc"#.utf8) + [0x01] + Array(#"d""#.utf8)
        #expect(parseError(controlAfterEscape) == JSONParseError(reason: .controlCharacterInString, offset: 6))
    }

    @Test("escaped strings decode to what was escaped, however escaped, at every length and followed by more")
    func escapedStringsRoundTrip() throws {
        var random = SplitMix64(seed: 0xE5C)
        let alphabet = ["a", "Z", " ", "/", "\"", "\\", "\n", "\r", "\t", "\u{8}", "\u{C}", "\u{1}", "\u{7F}", "é", "✓",
                        "😀"]
        func uEscaped(_ scalar: Unicode.Scalar) -> String {
            func hex(_ unit: UInt16) -> String {
                let digits = String(unit, radix: 16)
                return "\\u" + String(repeating: "0", count: 4 - digits.count) + digits
            }
            return String(scalar).utf16.map(hex).joined()
        }
        for _ in 0..<3_000 {
            // Around the 15 bytes a String keeps in place, and longer.
            let length = [1, 2, 5, 14, 15, 16, 17, 40, 300][Int(random.next() % 9)]
            let text = (0..<length).map { _ in alphabet[Int(random.next() % UInt64(alphabet.count))] }.joined()
            let written = JSONValue.string(text).serializedString
            let everyScalarEscaped = "\"" + text.unicodeScalars.map(uEscaped).joined() + "\""
            let solidusEscaped = String(written.flatMap { $0 == "/" ? ["\\", "/"] : [$0] })
            for document in [written, everyScalarEscaped, solidusEscaped] {
                #expect(try JSONParser.parse(Array(document.utf8)) == .string(text), "\(document)")
                let array = try JSONParser.parse(Array(("[" + document + ",1]").utf8))
                #expect(array == .array([.string(text), .number("1")]), "\(document)")
            }
        }
    }

    @Test("the UTF-8 check agrees with the standard library on random bytes")
    func agreesWithStandardLibrary() throws {
        var random = SplitMix64(seed: 0x5EED)
        let interesting: [UInt8] = [0x41, 0x7E, 0x7F, 0x80, 0x8F, 0x90, 0x9F, 0xA0, 0xBF, 0xC0, 0xC1, 0xC2, 0xDF, 0xE0,
                                    0xE1, 0xEC, 0xED, 0xEE, 0xEF, 0xF0, 0xF1, 0xF3, 0xF4, 0xF5, 0xFF]
        for _ in 0..<20_000 {
            let length = Int(random.next() % 24)
            let content = (0..<length).map { _ in interesting[Int(random.next() % UInt64(interesting.count))] }
            let expected = String(validating: content, as: UTF8.self)
            if let expected {
                #expect(try JSONParser.parse(quoted(content)) == .string(expected))
            } else {
                #expect(parseError(quoted(content)) == JSONParseError(reason: .invalidUTF8, offset: 1), "\(content)")
            }
        }
    }

    @Test("the scan stops where a byte-by-byte scan stops and sees the same non-ASCII bytes, from every start")
    func scanAgreesWithBytewiseScan() {
        var random = SplitMix64(seed: 0x5CA7)
        let rare: [UInt8] = [0x22, 0x5C, 0x00, 0x1F, 0x0A, 0x80, 0xC3, 0xFF]
        for _ in 0..<3_000 {
            let length = Int(random.next() % 70)
            let bytes = (0..<length).map { _ -> UInt8 in
                let isRare = random.next() % 23 == 0
                return isRare ? rare[Int(random.next() % UInt64(rare.count))] : 0x20 + UInt8(random.next() % 95)
            }
            bytes.withUnsafeBufferPointer { buffer in
                for start in 0...length {
                    var sawNonASCII = false
                    let found = JSONEscapeScan.firstSpecialByte(in: buffer, from: start, sawNonASCII: &sawNonASCII)
                    let expected = bytes[start...].firstIndex(where: JSONEscapeScan.isSpecial) ?? length
                    #expect(found == expected, "\(bytes) from \(start)")
                    #expect(sawNonASCII == bytes[start..<expected].contains { $0 >= 0x80 }, "\(bytes) from \(start)")
                }
            }
        }
    }

    @Test("a common string parses to itself, and so does every near miss of one, wherever it sits")
    func commonStrings() throws {
        for common in CommonJSONStrings.strings {
            let utf8 = Array(common.utf8)
            var nearMisses = [utf8.dropLast(), utf8 + [0x73], [0x5F] + utf8].map { Array($0) }
            for index in utf8.indices {
                var changed = utf8
                changed[index] ^= 0x01
                if !JSONEscapeScan.isSpecial(changed[index]) { nearMisses.append(changed) }
            }
            for text in [utf8] + nearMisses {
                let string = String(decoding: text, as: UTF8.self)
                // Alone (the last bytes of the buffer), and as a key and a value with more document after it.
                #expect(try JSONParser.parse(quoted(text)) == .string(string))
                let document = try JSONParser.parse(Array("{\"".utf8) + text + Array("\":\"".utf8) + text
                                                    + Array("\",\"padding\":\"0123456789abcdef\"}".utf8))
                let expected = JSONObject([(string, .string(string)), ("padding", .string("0123456789abcdef"))])
                #expect(document == .object(expected))
            }
        }
    }
}
