/// Replays a complete Anthropic message (e.g. a cache hit) as the event stream that would have produced it.
public enum AnthropicMessageEvents {
    /// - Parameters:
    ///   - message: a message produced by `AnthropicMessageFold`.
    ///   - id: the id for this response (each response gets its own, even from the cache).
    ///   - model: the model name the client asked for.
    public static func events(replaying message: JSONValue, id: String, model: String) -> [AnthropicEvent]? {
        guard let content = message["content"]?.arrayValue,
            let stopReason = message["stop_reason"]?.stringValue.flatMap(Anthropic.StopReason.init(rawValue:)),
            let usage = message["usage"]
        else { return nil }
        let finalUsage = Anthropic.Usage(
            inputTokens: usage["input_tokens"]?.intValue ?? 0, outputTokens: usage["output_tokens"]?.intValue ?? 0,
            cacheReadInputTokens: usage["cache_read_input_tokens"]?.intValue ?? 0,
            cacheCreationInputTokens: usage["cache_creation_input_tokens"]?.intValue ?? 0)
        var events: [AnthropicEvent] = [.messageStart(id: id, model: model, inputTokens: finalUsage.inputTokens)]
        for (index, block) in content.enumerated() {
            switch block["type"]?.stringValue {
            case "text":
                events.append(.blockStart(index: index, .text))
                events.append(.blockDelta(index: index, .text(block["text"]?.stringValue ?? "")))
            case "thinking":
                events.append(.blockStart(index: index, .thinking))
                events.append(.blockDelta(index: index, .thinking(block["thinking"]?.stringValue ?? "")))
                events.append(.blockDelta(index: index, .signature(block["signature"]?.stringValue ?? "")))
            case "tool_use":
                events.append(.blockStart(index: index, .toolUse(id: block["id"]?.stringValue ?? "",
                                                                 name: block["name"]?.stringValue ?? "")))
                events.append(.blockDelta(index: index, .inputJSON((block["input"] ?? .object(JSONObject())).serializedString)))
            default:
                return nil
            }
            events.append(.blockStop(index: index))
        }
        events.append(.messageDelta(stopReason: stopReason, stopSequence: message["stop_sequence"]?.stringValue,
                                    usage: finalUsage))
        events.append(.messageStop)
        return events
    }
}
