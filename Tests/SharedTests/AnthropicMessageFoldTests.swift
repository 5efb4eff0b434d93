@testable import Shared
import Testing

/// The fold of an event stream into one non-streamed message (the golden fixtures cover the translated shapes;
/// these cover long answers and every block kind accumulating over many deltas).
@Suite("Anthropic message fold")
struct AnthropicMessageFoldTests {
    @Test("a long answer in many small deltas arrives whole, in every block kind")
    func manyDeltas() throws {
        let pieces = 20_000
        var fold = AnthropicMessageFold()
        fold.consume(.messageStart(id: "msg_1", model: "m", inputTokens: 3))
        fold.consume(.blockStart(index: 0, .thinking))
        for index in 0..<pieces { fold.consume(.blockDelta(index: 0, .thinking("t\(index % 10)"))) }
        fold.consume(.blockDelta(index: 0, .signature("sig")))
        fold.consume(.blockStop(index: 0))
        fold.consume(.blockStart(index: 1, .text))
        for index in 0..<pieces { fold.consume(.blockDelta(index: 1, .text("é\(index % 10)"))) }
        fold.consume(.blockStop(index: 1))
        fold.consume(.blockStart(index: 2, .toolUse(id: "toolu_1", name: "Read")))
        for piece in [#"{"pa"#, #"th":"/tmp/"#, #"x"}"#] { fold.consume(.blockDelta(index: 2, .inputJSON(piece))) }
        fold.consume(.blockStop(index: 2))
        fold.consume(.messageDelta(stopReason: .toolUse, stopSequence: nil,
                                   usage: Anthropic.Usage(inputTokens: 3, outputTokens: 7)))
        fold.consume(.messageStop)

        guard case .message(let folded)? = fold.outcome else {
            Issue.record("no message: \(String(describing: fold.outcome))")
            return
        }
        let message = folded.json
        let content = try #require(message["content"]?.arrayValue)
        #expect(content.count == 3)
        let thinking = (0..<pieces).map { "t\($0 % 10)" }.joined()
        let text = (0..<pieces).map { "é\($0 % 10)" }.joined()
        #expect(content[0]["thinking"]?.stringValue == thinking)
        #expect(content[0]["signature"]?.stringValue == "sig")
        #expect(content[1]["text"]?.stringValue == text)
        #expect(content[2]["input"]?["path"]?.stringValue == "/tmp/x")
        #expect(content[2]["name"]?.stringValue == "Read")
        #expect(message["stop_reason"]?.stringValue == "tool_use")
    }
}

@Suite("Interleaved tool calls over many fragments")
struct InterleavedToolCallTests {
    @Test("a call whose fragments arrive while another is open is buffered whole and sent after it")
    func bufferedCall() throws {
        var ids = 0
        var translator = OpenAIStreamToAnthropic(messageID: "msg_1", model: "m", estimatedInputTokens: 1) {
            ids += 1
            return "toolu_\(ids)"
        }
        var events: [AnthropicEvent] = []
        translator.start(into: &events)
        func send(_ calls: [OpenAI.ToolCallDelta]) {
            translator.receive(OpenAI.StreamChunk(delta: OpenAI.Delta(toolCalls: calls)), into: &events)
        }
        send([OpenAI.ToolCallDelta(index: 0, id: "a", name: "First", arguments: "{\"x\":\"")])
        send([OpenAI.ToolCallDelta(index: 1, id: "b", name: "Second", arguments: "{\"y\":\"")])
        let fragments = 50_000
        for index in 0..<fragments {
            send([OpenAI.ToolCallDelta(index: 1, arguments: "\(index % 10)")])
        }
        send([OpenAI.ToolCallDelta(index: 1, arguments: "\"}")])
        send([OpenAI.ToolCallDelta(index: 0, arguments: "1\"}")])
        translator.receive(OpenAI.StreamChunk(finishReason: "tool_calls"), into: &events)
        translator.receiveDone(into: &events)

        var fold = AnthropicMessageFold()
        for event in events { fold.consume(event) }
        guard case .message(let folded)? = fold.outcome else {
            Issue.record("no message: \(String(describing: fold.outcome))")
            return
        }
        let message = folded.json
        let content = try #require(message["content"]?.arrayValue)
        #expect(content.count == 2)
        #expect(content[0]["name"]?.stringValue == "First")
        #expect(content[0]["input"]?["x"]?.stringValue == "1")
        #expect(content[1]["name"]?.stringValue == "Second")
        #expect(content[1]["input"]?["y"]?.stringValue == (0..<fragments).map { "\($0 % 10)" }.joined())
    }
}
