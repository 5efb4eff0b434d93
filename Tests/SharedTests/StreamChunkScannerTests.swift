@testable import Shared
import TestSupport
import Testing

/// `StreamChunkScanner` against the generic path (`JSONParser` then `StreamChunk(json:)`): whatever the scanner
/// decodes must be exactly what the generic path decodes, and it must decode the chunks Cerebras really sends.
@Suite("Stream chunk scanner")
struct StreamChunkScannerTests {
    private func scanned(_ text: String) -> OpenAI.StreamChunk? {
        scanned(Array(text.utf8))
    }

    private func scanned(_ bytes: [UInt8]) -> OpenAI.StreamChunk? {
        bytes.withUnsafeBufferPointer { StreamChunkScanner.decode($0) }
    }

    private func generic(_ bytes: [UInt8]) -> OpenAI.StreamChunk? {
        try? OpenAI.StreamChunk(json: JSONParser.parse(bytes))
    }

    /// The property every case holds to: a scanned chunk is the generic path's chunk.
    private func expectAgreement(_ bytes: [UInt8], sourceLocation: SourceLocation = #_sourceLocation) {
        guard let fast = scanned(bytes) else { return }
        let text = String(decoding: bytes, as: UTF8.self)
        #expect(generic(bytes) == fast, "scanner and generic path disagree on \(text)", sourceLocation: sourceLocation)
    }

    /// Every `data:` payload of every golden fixture's upstream stream, `[DONE]` left out.
    private func fixturePayloads() throws -> [[UInt8]] {
        var payloads: [[UInt8]] = []
        for fixture in try FixtureCase.all() {
            guard let stream = fixture.bytes("openai.stream.sse") else { continue }
            var parser = SSEParser()
            parser.append(stream)
            while let event = try parser.next() {
                if !event.data.elementsEqual("[DONE]".utf8) { payloads.append(Array(event.data)) }
            }
        }
        return payloads
    }

    @Test("decodes the chunk shapes Cerebras sends, field for field")
    func commonShapes() throws {
        let id = #""id":"chatcmpl-67f7","object":"chat.completion.chunk","created":1796289914,"model":"llama3.1-8b","#
            + #""system_fingerprint":"fp_x","#
        let role = "{\(id)\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\"},\"finish_reason\":null}]}"
        #expect(scanned(role) == OpenAI.StreamChunk(delta: OpenAI.Delta()))

        let content = "{\(id)\"choices\":[{\"index\":0,\"delta\":{\"content\":\" fake \\\"q\\\" \\u00e9 ü\"},"
            + "\"finish_reason\":null}]}"
        #expect(scanned(content) == OpenAI.StreamChunk(delta: OpenAI.Delta(content: " fake \"q\" é ü")))

        let reasoning = "{\(id)\"choices\":[{\"index\":0,\"delta\":{\"reasoning\":\"Let me think\"}}]}"
        #expect(scanned(reasoning) == OpenAI.StreamChunk(delta: OpenAI.Delta(reasoning: "Let me think")))

        let toolStart = "{\(id)\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"id\":\"call_1\","
            + "\"type\":\"function\",\"function\":{\"name\":\"Read\",\"arguments\":\"\"}}]}}]}"
        #expect(scanned(toolStart) == OpenAI.StreamChunk(delta: OpenAI.Delta(toolCalls: [
            OpenAI.ToolCallDelta(index: 0, id: "call_1", name: "Read", arguments: ""),
        ])))

        let toolArguments = "{\"choices\":[{\"delta\":{\"tool_calls\":[{\"index\":1,\"function\":"
            + "{\"arguments\":\"{\\\"path\\\":\"}},{\"function\":{\"arguments\":\"x\"}}]}}]}"
        #expect(scanned(toolArguments) == OpenAI.StreamChunk(delta: OpenAI.Delta(toolCalls: [
            OpenAI.ToolCallDelta(index: 1, arguments: "{\"path\":"),
            OpenAI.ToolCallDelta(index: 1, arguments: "x"),
        ])))

        let finish = "{\(id)\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\",\"stop_reason\":\"END\"}],"
            + "\"usage\":{\"prompt_tokens\":12,\"completion_tokens\":5,\"total_tokens\":17,"
            + "\"prompt_tokens_details\":{\"cached_tokens\":3}},\"time_info\":{\"queue_time\":0.0001,\"created\":1}}"
        #expect(scanned(finish) == OpenAI.StreamChunk(
            delta: OpenAI.Delta(), finishReason: "stop", matchedStop: "END",
            usage: OpenAI.Usage(promptTokens: 12, completionTokens: 5, cachedTokens: 3)))

        let usageOnly = " {\"choices\":[],\"usage\":{\"prompt_tokens\":7,\"completion_tokens\":2}} \n"
        #expect(scanned(usageOnly) == OpenAI.StreamChunk(usage: OpenAI.Usage(promptTokens: 7, completionTokens: 2)))

        for text in [role, content, reasoning, toolStart, toolArguments, finish, usageOnly] {
            expectAgreement(Array(text.utf8))
        }
    }

    @Test("decodes every chunk of the golden fixtures that carries no error, as the generic path does")
    func fixtureChunks() throws {
        let payloads = try fixturePayloads()
        var decoded = 0
        for payload in payloads {
            expectAgreement(payload)
            let hasError = (try? JSONParser.parse(payload))?["error"].map { !$0.isNull } ?? false
            if generic(payload) != nil, !hasError {
                #expect(scanned(payload) != nil, "\(String(decoding: payload, as: UTF8.self))")
                decoded += 1
            }
        }
        #expect(decoded > 100)
    }

    @Test("hands unusual documents to the generic path", arguments: [
        #"{"choices":[{"delta":{"content":"a","content":"b"}}]}"#,  // the generic path keeps the last
        #"{"choices":[{"delta":{"content":"a"}}],"choices":[]}"#,
        #"{"choices":[{"message":{"content":"whole"}}]}"#,
        #"{"error":{"message":"overloaded"},"status_code":503}"#,
        #"{"choices":[{"delta":{"con\u0074ent":"escaped key"}}]}"#,
        #"{"choices":[{"delta":{"contént":"x"}}]}"#,
        #"{"choices":[{"delta":{"tool_calls":["not an object"]}}]}"#,
        #"{"choices":[{"delta":"not an object"}]}"#,
        #"{"usage":42}"#,
        #"[1,2]"#,
        #""text""#,
    ])
    func unusual(_ text: String) {
        #expect(scanned(text) == nil)
    }

    @Test("reads values of unexpected types as the generic path does", arguments: [
        #"{"choices":[{"delta":{"content":7,"reasoning":null,"reasoning_content":"r"},"finish_reason":1}]}"#,
        #"{"choices":[{"delta":{"reasoning_content":"second","reasoning":"first"}}]}"#,
        #"{"choices":[{"matched_stop":"second","stop_reason":"first","finish_reason":"stop"}]}"#,
        #"{"choices":[{"delta":{"tool_calls":null}}]}"#,
        #"{"choices":[{"delta":{"tool_calls":{"index":0}}}]}"#,
        #"{"choices":[{"delta":{"tool_calls":[{"index":"3","function":[1]},{"index":2.0,"id":null}]}}]}"#,
        #"{"choices":[{"delta":null,"matched_stop":"@@","stop_reason":null}]}"#,
        #"{"choices":["first is not an object",{"delta":{"content":"second"}}]}"#,
        #"{"choices":{"delta":{"content":"not an array"}}}"#,
        #"{"usage":{"prompt_tokens":-4,"completion_tokens":1e3,"prompt_tokens_details":null}}"#,
        #"{"usage":{"prompt_tokens":1.5,"completion_tokens":"2","prompt_tokens_details":{"cached_tokens":9}}}"#,
        #"{"usage":null,"error":null,"status_code":200}"#,
        #"{"choices":[{"delta":{"content":"\ud83d\ude00 \ud800 lone"}}],"x":"\udc00"}"#,
        #"{"x":[[[{"y":[true,false,null,-0.5e-3,"\/\b\f\n\r\t"]}]]],"choices":[{"delta":{"content":"ok"}}]}"#,
        "\t{ \"choices\" : [ { \"delta\" : { \"content\" : \"spaced\" } } ] }\r\n",
    ])
    func unexpectedTypes(_ text: String) {
        let bytes = Array(text.utf8)
        #expect(scanned(bytes) != nil)
        expectAgreement(bytes)
    }

    @Test("rejects every malformed document the parser rejects", arguments: [
        #"{"choices":[{"delta":{"content":"a"}}]"#,
        #"{"choices":[{"delta":{"content":"a"}}]} x"#,
        #"{"choices":[{"delta":{"content":"a"}},]}"#,
        #"{"choices":[{"delta":{"content":"a",}}]}"#,
        #"{"x":01,"choices":[]}"#,
        #"{"x":-,"choices":[]}"#,
        #"{"x":1.,"choices":[]}"#,
        #"{"x":tru,"choices":[]}"#,
        #"{"x":"\q","choices":[]}"#,
        #"{"x":"\u12G4","choices":[]}"#,
        "{\"x\":\"tab\there\",\"choices\":[]}",
        #"{"x" 1}"#,
        #"{,}"#,
        "",
    ])
    func malformed(_ text: String) {
        #expect(scanned(text) == nil)
        #expect(generic(Array(text.utf8)) == nil)
    }

    @Test("rejects ill-formed UTF-8 and hostile nesting in members it skips")
    func skippedMembersAreChecked() {
        let invalidUTF8 = Array(#"{"x":""#.utf8) + [0xC3, 0x28] + Array(#"","choices":[]}"#.utf8)
        #expect(scanned(invalidUTF8) == nil)
        #expect(generic(invalidUTF8) == nil)

        let depth = JSONParser.defaultMaxDepth
        let tooDeep = #"{"choices":[],"x":"# + String(repeating: "[", count: depth) + String(repeating: "]", count: depth)
            + "}"
        #expect(scanned(tooDeep) == nil)
        #expect(generic(Array(tooDeep.utf8)) == nil)
        let deepEnough = #"{"choices":[],"x":"# + String(repeating: "[", count: depth - 1)
            + String(repeating: "]", count: depth - 1) + "}"
        #expect(scanned(deepEnough) == OpenAI.StreamChunk())
        expectAgreement(Array(deepEnough.utf8))
    }

    @Test("remembers a chunk's skipped members and steps over them in the next chunk, decoding the same")
    func repeatedMembers() throws {
        let head = #"{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1700000000,"model":"m","#
        let first = Array((head + #""choices":[{"index":0,"delta":{"content":"a"},"logprobs":null}]}"#).utf8)
        // Thinking after text: not the bytes around the text's string (`StreamChunkFrame`), so the members are scanned.
        let second = Array((head + #""choices":[{"index":0,"delta":{"reasoning":"b"},"logprobs":null}]}"#).utf8)
        var memo = StreamChunkScanner.Memo()
        let decodedFirst = first.withUnsafeBufferPointer { StreamChunkScanner.decode($0, repeating: &memo) }
        #expect(decodedFirst == OpenAI.StreamChunk(delta: OpenAI.Delta(content: "a")))
        #expect(memo.members.root.all.map { String(decoding: $0, as: UTF8.self) }
            == [#""id":"chatcmpl-1""#, #""object":"chat.completion.chunk""#, #""created":1700000000"#, #""model":"m""#])
        #expect(memo.members.choice.all.map { String(decoding: $0, as: UTF8.self) }
            == [#""index":0"#, #""logprobs":null"#])
        let kept = memo.members.root
        let decodedSecond = second.withUnsafeBufferPointer { StreamChunkScanner.decode($0, repeating: &memo) }
        #expect(decodedSecond == OpenAI.StreamChunk(delta: OpenAI.Delta(reasoning: "b")))
        #expect(memo.members.root == kept)

        // Near misses: a number that goes on, a longer string, a literal followed by junk, whitespace moved.
        for (previous, next) in [
            (#"{"created":17,"choices":[]}"#, #"{"created":175,"choices":[]}"#),
            (#"{"created":17,"choices":[]}"#, #"{"created":17.5,"choices":[]}"#),
            (#"{"created":17,"choices":[]}"#, #"{"created":17e,"choices":[]}"#),
            (#"{"id":"ab","choices":[]}"#, #"{"id":"abc","choices":[]}"#),
            (#"{"x":null,"choices":[]}"#, #"{"x":nullx,"choices":[]}"#),
            (#"{"x":[1],"choices":[]}"#, #"{"x":[1]]"choices":[]}"#),
            (#"{"x" : 1 ,"choices":[]}"#, #"{"x" : 1 "choices":[]}"#),
            (#"{"x":1,"choices":[]}"#, #"{"x":1}"#),
            (#"{"x":1,"choices":[]}"#, #"{"x":1"#),
            (#"{"choices":[{"index":0}]}"#, #"{"choices":[{"index":01}]}"#),
            (#"{"choices":[{"index":0,"delta":{"content":"a"}}]}"#, #"{"choices":[{"index":0}"#),
        ] {
            var memo = StreamChunkScanner.Memo()
            _ = Array(previous.utf8).withUnsafeBufferPointer { StreamChunkScanner.decode($0, repeating: &memo) }
            #expect(memo.members.root.count + memo.members.choice.count > 0, "\(previous) left members to remember")
            let bytes = Array(next.utf8)
            let fast = bytes.withUnsafeBufferPointer { StreamChunkScanner.decode($0, repeating: &memo) }
            if let fast { #expect(generic(bytes) == fast, "\(next) after \(previous)") }
            if generic(bytes) == nil { #expect(fast == nil, "\(next) after \(previous)") }
        }
    }

    @Test("keeps up to eight remembered members in one array, a replaced one's neighbours whole whatever its length")
    func memberList() {
        var list = StreamChunkScanner.MemberList()
        func set(_ text: String, at ordinal: Int) {
            Array(text.utf8).withUnsafeBufferPointer { list.set($0, at: ordinal) }
        }
        func texts() -> [String] { list.all.map { String(decoding: $0, as: UTF8.self) } }
        func matches(_ text: String, _ ordinal: Int) -> Int? {
            Array(text.utf8).withUnsafeBufferPointer {
                list.matchedLength(of: ordinal, at: $0.baseAddress!, available: $0.count)
            }
        }
        set(#""a":1"#, at: 0)
        set(#""b":22"#, at: 1)
        set(#""c":333"#, at: 2)
        set(#""z":0"#, at: 4)
        #expect(texts() == [#""a":1"#, #""b":22"#, #""c":333"#], "an ordinal past the end is not kept")
        set(#""b":4444444"#, at: 1)
        #expect(texts() == [#""a":1"#, #""b":4444444"#, #""c":333"#])
        set(#""a":"#, at: 0)
        #expect(texts() == [#""a":"#, #""b":4444444"#, #""c":333"#])
        set(#""c":5"#, at: 2)
        #expect(texts() == [#""a":"#, #""b":4444444"#, #""c":5"#])
        #expect(matches(#""b":4444444,"c":5}"#, 1) == 11)
        #expect(matches(#""b":444444"#, 1) == nil, "fewer bytes than the member")
        #expect(matches(#""b":4444445"#, 1) == nil)
        #expect(matches(#""a":"#, 3) == nil, "no fourth member")
        for ordinal in 3..<12 { set(#""m\#(ordinal)":0"#, at: ordinal) }
        #expect(list.count == 8)
        #expect(texts().last == #""m7":0"#)
    }

    @Test("decodes every fixture stream chunk by chunk with one memo, as without it")
    func fixtureStreamsWithAMemo() throws {
        var decoded = 0
        var framed = 0
        for fixture in try FixtureCase.all() {
            guard let stream = fixture.bytes("openai.stream.sse") else { continue }
            var parser = SSEParser()
            parser.append(stream)
            var memo = StreamChunkScanner.Memo()
            while let event = try parser.next() {
                if event.data.elementsEqual("[DONE]".utf8) { continue }
                if event.data.withUnsafeBufferPointer({ memo.frame.decode($0) }) != nil { framed += 1 }
                let withMemo = event.data.withUnsafeBufferPointer { StreamChunkScanner.decode($0, repeating: &memo) }
                #expect(withMemo == scanned(Array(event.data)), "\(String(decoding: event.data, as: UTF8.self))")
                if withMemo != nil { decoded += 1 }
            }
        }
        #expect(decoded > 100)
        // Chunks of text, thinking and arguments after the first of their kind decode from the bytes around it.
        #expect(framed > 30)
    }

    // MARK: - Non-streamed completion bodies

    private func scannedCompletion(_ bytes: [UInt8]) -> [OpenAI.StreamChunk]? {
        bytes.withUnsafeBufferPointer { StreamChunkScanner.decodeCompletion($0) }.map(OpenAI.chunks(completion:))
    }

    private func genericCompletion(_ bytes: [UInt8]) -> [OpenAI.StreamChunk]? {
        try? OpenAI.chunks(fromCompletion: JSONParser.parse(bytes))
    }

    private func expectCompletionAgreement(_ bytes: [UInt8], sourceLocation: SourceLocation = #_sourceLocation) {
        guard let fast = scannedCompletion(bytes) else { return }
        let text = String(decoding: bytes, as: UTF8.self)
        #expect(genericCompletion(bytes) == fast, "scanner and generic path disagree on the completion \(text)",
                sourceLocation: sourceLocation)
    }

    private func fixtureCompletions() throws -> [[UInt8]] {
        try FixtureCase.all().compactMap { $0.bytes("openai.response.json") }
    }

    @Test("decodes every fixture's non-streamed body, as the generic path does")
    func completionFixtures() throws {
        let bodies = try fixtureCompletions()
        #expect(bodies.count >= 10)
        for body in bodies {
            #expect(scannedCompletion(body) != nil, "\(String(decoding: body, as: UTF8.self))")
            expectCompletionAgreement(body)
        }
    }

    @Test("reads a completion's message where a chunk's delta is, and hands what it cannot read to the generic path")
    func completionShapes() throws {
        let text = #"{"id":"c","object":"chat.completion","choices":[{"index":0,"message":{"role":"assistant","#
            + #""content":"Hi","reasoning_content":"hm","tool_calls":[{"id":"t","type":"function","function":"#
            + #"{"name":"f","arguments":"{}"}}]},"finish_reason":"tool_calls","matched_stop":"X"}],"#
            + #""usage":{"prompt_tokens":5,"completion_tokens":2,"prompt_tokens_details":{"cached_tokens":1}}}"#
        #expect(scannedCompletion(Array(text.utf8)) == [
            OpenAI.StreamChunk(delta: OpenAI.Delta(reasoning: "hm")),
            OpenAI.StreamChunk(delta: OpenAI.Delta(content: "Hi")),
            OpenAI.StreamChunk(delta: OpenAI.Delta(toolCalls: [
                OpenAI.ToolCallDelta(index: 0, id: "t", name: "f", arguments: "{}"),
            ])),
            OpenAI.StreamChunk(finishReason: "tool_calls", matchedStop: "X",
                               usage: OpenAI.Usage(promptTokens: 5, completionTokens: 2, cachedTokens: 1)),
        ])
        // No finish reason: `stop`; a null message: no content.
        #expect(scannedCompletion(Array(#"{"choices":[{"message":null}]}"#.utf8))
                == [OpenAI.StreamChunk(finishReason: "stop")])
        // Read by the generic path: its errors and its choices of member.
        for unusual in [
            #"{"choices":[]}"#, #"{"choices":[1]}"#, #"{"choices":{}}"#, #"{}"#, #"[]"#,
            #"{"error":{"message":"boom"},"choices":[{"message":{"content":"x"}}]}"#,
            #"{"choices":[{"delta":{"content":"a"},"message":{"content":"b"}}]}"#,
            #"{"choices":[{"message":{"content":"a"},"message":{"content":"b"}}]}"#,
            #"{"choices":[{"message":"text"}]}"#, #"{"choices":[{"message":{}}],"usage":7}"#,
            #"{"choices":[{"message":{"tool_calls":[1]}}]}"#,
        ] {
            let bytes = Array(unusual.utf8)
            #expect(scannedCompletion(bytes) == nil, "\(unusual)")
            expectCompletionAgreement(bytes)
        }
    }

    @Test("agrees with the generic path on 20,000 mutations of the fixtures' non-streamed bodies")
    func completionMutations() throws {
        let bodies = try fixtureCompletions()
        var random = SplitMix64(seed: 0xC0_4F1E7E)
        var accepted = 0
        for _ in 0..<20_000 {
            let bytes = Self.mutated(bodies[Int(random.next() % UInt64(bodies.count))], with: &random)
            expectCompletionAgreement(bytes)
            if scannedCompletion(bytes) != nil { accepted += 1 }
        }
        #expect(accepted > 1_000)
    }

    /// One to three bytes replaced, inserted or removed, from an alphabet of JSON's structure and UTF-8's edges.
    private static func mutated(_ original: [UInt8], with random: inout SplitMix64) -> [UInt8] {
        let alphabet = Array(#"{}[],:" \u0-9e.tfn"#.utf8) + [0xC3, 0xA9, 0x80, 0x0A]
        var bytes = original
        for _ in 0..<(1 + Int(random.next() % 3)) where !bytes.isEmpty {
            let at = Int(random.next() % UInt64(bytes.count))
            let byte = alphabet[Int(random.next() % UInt64(alphabet.count))]
            switch random.next() % 3 {
            case 0: bytes[at] = byte
            case 1: bytes.insert(byte, at: at)
            default: bytes.remove(at: at)
            }
        }
        return bytes
    }

    @Test("agrees with the generic path on 40,000 mutations of the fixtures' chunks")
    func mutations() throws {
        let payloads = try fixturePayloads()
        var random = SplitMix64(seed: 0x5EED_C4A7)
        var accepted = 0
        for _ in 0..<40_000 {
            let original = payloads[Int(random.next() % UInt64(payloads.count))]
            let bytes = Self.mutated(original, with: &random)
            expectAgreement(bytes)
            if scanned(bytes) != nil { accepted += 1 }
            // The same mutation as the chunk after its original, with the original's members remembered.
            var memo = StreamChunkScanner.Memo()
            _ = original.withUnsafeBufferPointer { StreamChunkScanner.decode($0, repeating: &memo) }
            let afterOriginal = bytes.withUnsafeBufferPointer { StreamChunkScanner.decode($0, repeating: &memo) }
            if let afterOriginal {
                #expect(generic(bytes) == afterOriginal, "\(String(decoding: bytes, as: UTF8.self))")
            }
        }
        // Many mutations land inside strings and stay valid: the property was exercised on accepted documents too.
        #expect(accepted > 1_000)
    }
}
