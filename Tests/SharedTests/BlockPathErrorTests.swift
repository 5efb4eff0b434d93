import Shared
import Testing

/// A refused content block is named by its place in the request, down to a block inside a tool result.
@Suite("Content block paths in errors")
struct BlockPathErrorTests {
    private static let image = #"{"type":"image","source":{"type":"base64","media_type":"image/png","data":"AAAA"}}"#

    private static func error(messages: String) throws -> String? {
        let body = #"{"model":"claude-sonnet-4-5","max_tokens":100,"messages":\#(messages)}"#
        let request = try Anthropic.MessagesRequest(json: JSONParser.parse(body))
        do {
            _ = try AnthropicToOpenAI.translate(request, catalog: ModelCatalog(), options: TranslationOptions())
            return nil
        } catch {
            return error.message
        }
    }

    @Test("a block of a message")
    func messageBlock() throws {
        let messages = #"[{"role":"user","content":[{"type":"text","text":"hi"},{"type":"tool_use","id":"toolu_1","name":"t","input":{}}]}]"#
        #expect(try Self.error(messages: messages)
            == "messages.0.content.1: tool_use blocks are only allowed in assistant messages")
    }

    @Test("a block inside a tool result")
    func toolResultBlock() throws {
        let messages = #"""
            [{"role":"user","content":"hi"},
             {"role":"assistant","content":[{"type":"tool_use","id":"toolu_1","name":"t","input":{}}]},
             {"role":"user","content":[{"type":"text","text":"see"},
              {"type":"tool_result","tool_use_id":"toolu_1","content":[{"type":"text","text":"ok"},\#(Self.image)]}]}]
            """#
        #expect(try Self.error(messages: messages)
            == "messages.2.content.1.content.1: image blocks are not supported by model \"zai-glm-4.7\" (text-only); "
                + "remove the image or configure a vision-capable model")
    }

    @Test("texts join one per line, a single one as it is")
    func joinedTexts() throws {
        let body = #"""
            {"model":"claude-sonnet-4-5","max_tokens":100,"messages":[
             {"role":"user","content":[{"type":"text","text":"one"},{"type":"text","text":"two"}]},
             {"role":"assistant","content":[{"type":"text","text":"only"}]},
             {"role":"user","content":[{"type":"text","text":"last"}]}]}
            """#
        let request = try Anthropic.MessagesRequest(json: JSONParser.parse(body))
        let translated = try AnthropicToOpenAI.translate(request, catalog: ModelCatalog(), options: TranslationOptions())
        let texts = translated.upstream.conversation.map { message -> String? in
            if case .text(let text) = message.content { return text }
            return nil
        }
        #expect(texts == ["one\ntwo", "only", "last"])
    }
}
