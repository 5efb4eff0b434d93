/// Renders a `Turn` as one non-streaming `chat.completion` object.
enum CompletionWriter {
    static func body(for turn: Turn, meta: CompletionMeta) -> String {
        var message = #"{"role":"assistant","content":"# + JSONText.quotedOrNull(turn.fullContent)
        if !turn.reasoning.isEmpty {
            message += #","reasoning":"# + JSONText.quoted(turn.reasoning.joined())
        }
        if !turn.toolCalls.isEmpty {
            let calls = turn.toolCalls.map { call in
                """
                {"id":\(JSONText.quoted(call.id)),"type":"function","function":\
                {"name":\(JSONText.quoted(call.name)),"arguments":\(JSONText.quoted(call.arguments))}}
                """
            }
            message += #","tool_calls":["# + calls.joined(separator: ",") + "]"
        }
        message += "}"
        var choice = #"{"index":0,"message":"# + message + #","finish_reason":"# + JSONText.quoted(turn.finishReason)
        if let stopReason = turn.stopReason {
            choice += #","stop_reason":"# + JSONText.quoted(stopReason)
        }
        choice += "}"
        return """
            {"id":"\(meta.id)","object":"chat.completion","created":\(meta.created),\
            "model":\(JSONText.quoted(meta.model)),"system_fingerprint":"fp_x","choices":[\(choice)],\
            \(meta.usage.jsonFields(created: meta.created))}
            """
    }
}
