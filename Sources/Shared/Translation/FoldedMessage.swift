/// A non-streamed answer as `AnthropicMessageFold` assembles it: Anthropic's message object, kept as its parts.
///
/// `serialized` writes the JSON straight from the parts (every non-streamed answer goes through it); `json` builds
/// the same document as a tree, for callers that read fields. The two always agree byte for byte
/// (`FoldedMessageTests`, and the stream fuzz target checks it for every input).
public struct FoldedMessage: Sendable, Equatable {
    public enum Block: Sendable, Equatable {
        case text(String)
        case thinking(String, signature: String)
        /// `input` is a JSON object.
        case toolUse(id: String, name: String, input: JSONValue)
    }

    public var id: String
    public var model: String
    public var content: [Block]
    public var stopReason: Anthropic.StopReason?
    public var stopSequence: String?
    public var usage: Anthropic.Usage

    public var serialized: [UInt8] {
        var capacity = 320 + id.utf8.count + model.utf8.count
        for block in content {
            switch block {
            case .text(let text): capacity += text.utf8.count + 32
            case .thinking(let thinking, let signature): capacity += thinking.utf8.count + signature.utf8.count + 64
            case .toolUse(let id, let name, _): capacity += id.utf8.count + name.utf8.count + 128
            }
        }
        var writer = JSONWriter(capacity: capacity)
        writer.raw("{\"id\":")
        writer.string(id)
        writer.raw(",\"type\":\"message\",\"role\":\"assistant\",\"model\":")
        writer.string(model)
        writer.raw(",\"content\":[")
        for (index, block) in content.enumerated() {
            if index > 0 { writer.raw(",") }
            switch block {
            case .text(let text):
                writer.raw("{\"type\":\"text\",\"text\":")
                writer.string(text)
            case .thinking(let thinking, let signature):
                writer.raw("{\"type\":\"thinking\",\"thinking\":")
                writer.string(thinking)
                writer.raw(",\"signature\":")
                writer.string(signature)
            case .toolUse(let id, let name, let input):
                writer.raw("{\"type\":\"tool_use\",\"id\":")
                writer.string(id)
                writer.raw(",\"name\":")
                writer.string(name)
                writer.raw(",\"input\":")
                writer.value(input)
            }
            writer.raw("}")
        }
        writer.raw("],\"stop_reason\":")
        if let stopReason { writer.string(stopReason.rawValue) } else { writer.raw("null") }
        writer.raw(",\"stop_sequence\":")
        if let stopSequence { writer.string(stopSequence) } else { writer.raw("null") }
        writer.raw(",\"usage\":")
        SSEWriter.writeUsage(usage, to: &writer)
        writer.raw("}")
        return writer.takeBytes()
    }

    public var json: JSONValue {
        .object(JSONObject([
            ("id", .string(id)),
            ("type", .string("message")),
            ("role", .string("assistant")),
            ("model", .string(model)),
            ("content", .array(content.map(\.json))),
            ("stop_reason", stopReason.map { .string($0.rawValue) } ?? .null),
            ("stop_sequence", stopSequence.map(JSONValue.string) ?? .null),
            ("usage", .object(JSONObject([
                ("input_tokens", .int(usage.inputTokens)),
                ("output_tokens", .int(usage.outputTokens)),
                ("cache_creation_input_tokens", .int(usage.cacheCreationInputTokens)),
                ("cache_read_input_tokens", .int(usage.cacheReadInputTokens)),
            ]))),
        ]))
    }
}

extension FoldedMessage.Block {
    var json: JSONValue {
        switch self {
        case .text(let text):
            .object(JSONObject([("type", .string("text")), ("text", .string(text))]))
        case .thinking(let thinking, let signature):
            .object(JSONObject([
                ("type", .string("thinking")), ("thinking", .string(thinking)), ("signature", .string(signature)),
            ]))
        case .toolUse(let id, let name, let input):
            .object(JSONObject([("type", .string("tool_use")), ("id", .string(id)), ("name", .string(name)),
                                ("input", input)]))
        }
    }
}
