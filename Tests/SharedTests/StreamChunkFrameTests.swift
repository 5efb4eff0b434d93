@testable import Shared
import TestSupport
import Testing

/// `StreamChunkFrame`: a chunk made of the previous text chunk's bytes around another string decodes from them, to
/// exactly what the generic path (`JSONParser` then `StreamChunk(json:)`) decodes, and anything else is scanned.
@Suite("Stream chunk frame")
struct StreamChunkFrameTests {
    private static let head = #"{"id":"chatcmpl-9","object":"chat.completion.chunk","created":1796289914,"#
        + #""model":"zai-glm-4.7","system_fingerprint":"fp_x","choices":[{"index":0,"delta":"#

    private static func chunk(delta: String, tail: String = #","finish_reason":null}]}"#) -> [UInt8] {
        Array((head + delta + tail).utf8)
    }

    private static func text(_ json: String) -> [UInt8] { chunk(delta: #"{"content":"# + json + "}") }

    private func generic(_ bytes: [UInt8]) -> OpenAI.StreamChunk? {
        try? OpenAI.StreamChunk(json: JSONParser.parse(bytes))
    }

    /// Decodes `bytes` with the stream's memo, as the translator does; says whether the frame took it.
    private func decode(_ bytes: [UInt8],
                        with memo: inout StreamChunkScanner.Memo) -> (chunk: OpenAI.StreamChunk?, framed: Bool) {
        let framed = bytes.withUnsafeBufferPointer { memo.frame.decode($0) } != nil
        return (bytes.withUnsafeBufferPointer { StreamChunkScanner.decode($0, repeating: &memo) }, framed)
    }

    @Test("decodes text, thinking and tool-argument chunks from the bytes around the previous one's string")
    func stream() {
        let steps: [(bytes: [UInt8], framed: Bool)] = [
            (Self.chunk(delta: #"{"role":"assistant"}"#), false),
            (Self.text(#""Hello""#), false),
            (Self.text(#"" world""#), true),
            (Self.text(#""""#), true),
            (Self.text(#"" \"q\" \u00e9 ü \ud83d\ude00 \\ \/""#), true),
            (Self.chunk(delta: #"{"reasoning":"Let me"}"#), false),
            (Self.chunk(delta: #"{"reasoning":" think"}"#), true),
            (Self.chunk(delta: #"{"reasoning_content":"other key"}"#), false),
            (Self.chunk(delta: #"{"reasoning_content":" same key"}"#), true),
            (Self.chunk(delta: #"{"tool_calls":[{"index":1,"id":"call_1","function":"#
                + #"{"name":"Read","arguments":""}}]}"#), false),
            (Self.chunk(delta: #"{"tool_calls":[{"index":1,"function":{"arguments":"{\"path\""}}]}"#), false),
            (Self.chunk(delta: #"{"tool_calls":[{"index":1,"function":{"arguments":":\"/tmp\"}"}}]}"#), true),
            (Self.text(#""back to text""#), false),
            (Self.text(#""!""#), true),
            (Self.chunk(delta: "{}", tail: #","finish_reason":"stop"}],"#
                + #""usage":{"prompt_tokens":6,"completion_tokens":5}}"#), false),
        ]
        var memo = StreamChunkScanner.Memo()
        for (bytes, framed) in steps {
            let text = String(decoding: bytes, as: UTF8.self)
            let (decoded, wasFramed) = decode(bytes, with: &memo)
            #expect(decoded != nil, "\(text)")
            #expect(decoded == generic(bytes), "\(text)")
            #expect(wasFramed == framed, "\(text)")
        }
    }

    @Test("keeps the rest of the chunk it decoded: usage and fields read around the string come with it")
    func wholeChunk() {
        let tail = #"}],"usage":{"prompt_tokens":6,"completion_tokens":1}}"#
        var memo = StreamChunkScanner.Memo()
        _ = decode(Self.chunk(delta: #"{"content":"a","role":null}"#, tail: tail), with: &memo)
        let next = Self.chunk(delta: #"{"content":"b","role":null}"#, tail: tail)
        let (decoded, framed) = decode(next, with: &memo)
        #expect(framed)
        #expect(decoded == OpenAI.StreamChunk(delta: OpenAI.Delta(content: "b"),
                                              usage: OpenAI.Usage(promptTokens: 6, completionTokens: 1)))
        #expect(decoded == generic(next))
    }

    @Test("leaves to the scan every chunk that is not the same bytes around one well-formed string", arguments: [
        #"null"#,  // not a string where the string was
        #"7"#,
        #""unterminated"#,
        #""a" "#,  // whitespace after the string: the bytes after it differ
        #" "a""#,
        #""a","content":"b""#,  // given twice: the generic path keeps the last, the scanner hands it over
        #""a","reasoning":"b""#,  // a second string
        #""a\""#,
        #""a\q""#,
        "\"tab\there\"",
        "\"line\nbreak\"",
    ])
    func nearMisses(_ value: String) {
        var memo = StreamChunkScanner.Memo()
        _ = decode(Self.text(#""kept""#), with: &memo)
        let bytes = Self.text(value)
        let (decoded, framed) = decode(bytes, with: &memo)
        #expect(!framed, "\(value)")
        #expect(decoded == generic(bytes) || decoded == nil, "\(value)")
        if generic(bytes) == nil { #expect(decoded == nil, "\(value)") }
    }

    @Test("refuses ill-formed UTF-8 and anything after the chunk's end")
    func malformedAroundTheString() {
        var memo = StreamChunkScanner.Memo()
        _ = decode(Self.text(#""kept""#), with: &memo)
        for bytes in [
            Array(Self.head.utf8) + Array(#"{"content":""#.utf8) + [0xC3, 0x28]
                + Array(#""},"finish_reason":null}]}"#.utf8),
            Self.text(#""a""#) + Array(" x".utf8),
            Self.text(#""a""#) + Array("}".utf8),
            Array(Self.text(#""a""#).dropLast()),
        ] {
            let (decoded, framed) = decode(bytes, with: &memo)
            #expect(!framed)
            #expect(decoded == nil)
            #expect(generic(bytes) == nil)
        }
        // Whitespace after the document is JSON: scanned, and kept as the new frame's bytes after the string.
        let spaced = decode(Self.text(#""a""#) + Array(" \n".utf8), with: &memo)
        #expect(spaced.chunk == OpenAI.StreamChunk(delta: OpenAI.Delta(content: "a")))
        #expect(!spaced.framed)
        let next = decode(Self.text(#""b""#) + Array(" \n".utf8), with: &memo)
        #expect(next.chunk == OpenAI.StreamChunk(delta: OpenAI.Delta(content: "b")))
        #expect(next.framed)
    }

    @Test("decodes 20,000 random strings between the kept bytes as the generic path does")
    func randomStrings() {
        let alphabet = Array(#"ab "\/u0123456789ABCDEFbfnrtq{}[],:"#.utf8)
            + [0xC3, 0xA9, 0x80, 0xE2, 0x82, 0xAC, 0x0A, 0x7F]
        var random = SplitMix64(seed: 0xF4A3E)
        var framed = 0
        for _ in 0..<20_000 {
            var memo = StreamChunkScanner.Memo()
            _ = decode(Self.text(#""kept""#), with: &memo)
            var value: [UInt8] = [UInt8(ascii: "\"")]
            for _ in 0..<Int(random.next() % 12) { value.append(alphabet[Int(random.next() % UInt64(alphabet.count))]) }
            if random.next() % 4 != 0 { value.append(UInt8(ascii: "\"")) }
            let bytes = Array(Self.head.utf8) + Array(#"{"content":"#.utf8) + value
                + Array(#"},"finish_reason":null}]}"#.utf8)
            let (decoded, wasFramed) = decode(bytes, with: &memo)
            let text = String(decoding: bytes, as: UTF8.self)
            if let decoded { #expect(decoded == generic(bytes), "\(text)") }
            if generic(bytes) == nil { #expect(decoded == nil, "\(text)") }
            if wasFramed { framed += 1 }
        }
        // Most random strings are well-formed ones: the frame decoded those.
        #expect(framed > 5_000)
    }
}
