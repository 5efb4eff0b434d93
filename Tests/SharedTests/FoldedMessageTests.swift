import XCTest

@testable import Shared

/// The non-streamed answer is written straight from its parts; it must be its tree's serialisation, byte for byte.
final class FoldedMessageTests: XCTestCase {
    func testDirectBytesAreTheTreesBytes() throws {
        let input = try JSONParser.parse(#"{"path":"/tmp/x","opts":{"n":[1,2.5,-3e2,true,null],"q":"\"é\n"}}"#)
        let messages = [
            FoldedMessage(id: "msg_1", model: "claude-sonnet-4", content: [], stopReason: nil, stopSequence: nil,
                          usage: Anthropic.Usage(inputTokens: 0, outputTokens: 0)),
            FoldedMessage(
                id: "msg_\u{1}\"", model: "m\\", content: [
                    .thinking("let me \"think\"\t…", signature: "sig=="),
                    .text("Hello,\nworld ✓ \u{0}\u{1f}"),
                    .toolUse(id: "toolu_1", name: "Read", input: input),
                    .toolUse(id: "toolu_2", name: "Empty", input: .object(JSONObject())),
                    .text(""),
                ], stopReason: .stopSequence, stopSequence: "END\"",
                usage: Anthropic.Usage(inputTokens: 1_234_567, outputTokens: 89, cacheReadInputTokens: 40,
                                       cacheCreationInputTokens: 7)),
            FoldedMessage(id: "msg_2", model: "zai-glm-4.7", content: [.text(String(repeating: "long ", count: 20_000))],
                          stopReason: .maxTokens, stopSequence: nil,
                          usage: Anthropic.Usage(inputTokens: 5, outputTokens: 20_000)),
        ]
        for message in messages {
            XCTAssertEqual(String(decoding: message.serialized, as: UTF8.self),
                           String(decoding: message.json.serialized, as: UTF8.self))
            XCTAssertEqual(try JSONParser.parse(message.serialized), message.json)
        }
    }
}
