/// Encodes Anthropic events in the SSE wire format: `event: NAME\ndata: {json}\n\n`.
public enum SSEWriter {
    /// Appends one event's bytes. Hot path: one writer, no intermediate values.
    public static func write(_ event: AnthropicEvent, to writer: inout JSONWriter) {
        switch event {
        case .messageStart(let id, let model, let inputTokens):
            writer.raw("event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":")
            writer.string(id)
            writer.raw(",\"type\":\"message\",\"role\":\"assistant\",\"model\":")
            writer.string(model)
            writer.raw(",\"content\":[],\"stop_reason\":null,\"stop_sequence\":null,\"usage\":{\"input_tokens\":")
            writer.int(inputTokens)
            writer.raw(",\"output_tokens\":0,\"cache_creation_input_tokens\":0,\"cache_read_input_tokens\":0}}}\n\n")
        case .ping:
            writer.raw("event: ping\ndata: {\"type\":\"ping\"}\n\n")
        case .blockStart(let index, let block):
            writer.raw("event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":")
            writer.int(index)
            switch block {
            case .text:
                writer.raw(",\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n")
            case .thinking:
                writer.raw(",\"content_block\":{\"type\":\"thinking\",\"thinking\":\"\",\"signature\":\"\"}}\n\n")
            case .toolUse(let id, let name):
                writer.raw(",\"content_block\":{\"type\":\"tool_use\",\"id\":")
                writer.string(id)
                writer.raw(",\"name\":")
                writer.string(name)
                writer.raw(",\"input\":{}}}\n\n")
            }
        case .blockDelta(let index, let delta):
            writer.raw("event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":")
            writer.int(index)
            switch delta {
            case .text(let text):
                writer.raw(",\"delta\":{\"type\":\"text_delta\",\"text\":")
                writer.string(text)
            case .thinking(let text):
                writer.raw(",\"delta\":{\"type\":\"thinking_delta\",\"thinking\":")
                writer.string(text)
            case .signature(let signature):
                writer.raw(",\"delta\":{\"type\":\"signature_delta\",\"signature\":")
                writer.string(signature)
            case .inputJSON(let json):
                writer.raw(",\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":")
                writer.string(json)
            }
            writer.raw("}}\n\n")
        case .blockStop(let index):
            writer.raw("event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":")
            writer.int(index)
            writer.raw("}\n\n")
        case .messageDelta(let stopReason, let stopSequence, let usage):
            writer.raw("event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"")
            writer.rawText(stopReason.rawValue)
            writer.raw("\",\"stop_sequence\":")
            if let stopSequence { writer.string(stopSequence) } else { writer.raw("null") }
            writer.raw("},\"usage\":")
            writeUsage(usage, to: &writer)
            writer.raw("}\n\n")
        case .messageStop:
            writer.raw("event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n")
        case .error(let error):
            writer.raw("event: error\ndata: {\"type\":\"error\",\"error\":")
            error.writeErrorObject(to: &writer)
            writer.raw("}\n\n")
        }
    }

    public static func writeUsage(_ usage: Anthropic.Usage, to writer: inout JSONWriter) {
        writer.raw("{\"input_tokens\":")
        writer.int(usage.inputTokens)
        writer.raw(",\"output_tokens\":")
        writer.int(usage.outputTokens)
        writer.raw(",\"cache_creation_input_tokens\":")
        writer.int(usage.cacheCreationInputTokens)
        writer.raw(",\"cache_read_input_tokens\":")
        writer.int(usage.cacheReadInputTokens)
        writer.raw("}")
    }

    public static func bytes(_ events: [AnthropicEvent]) -> [UInt8] {
        var writer = JSONWriter(capacity: 256 * events.count)
        for event in events { write(event, to: &writer) }
        return writer.takeBytes()
    }
}
