extension OpenAI.ChatRequest {
    /// The request body, compact, keys in a fixed order: identical requests serialise to identical bytes,
    /// which both Cerebras's prefix cache and the gateway's response cache key rely on.
    public func jsonBytes() -> [UInt8] {
        var writer = JSONWriter(capacity: estimatedByteCount)
        writer.raw("{\"model\":")
        writer.string(model)
        writer.raw(",\"messages\":[")
        if let system {
            writer.rawBytes(system.json)
            if !conversation.isEmpty { writer.raw(",") }
        }
        conversation.withJSON { writer.rawBytes($0) }
        writer.raw("]")
        if !tools.isEmpty {
            writer.raw(",\"tools\":")
            writer.rawBytes(tools.json)
        }
        if let toolChoice {
            writer.raw(",\"tool_choice\":")
            switch toolChoice {
            case .auto: writer.raw("\"auto\"")
            case .required: writer.raw("\"required\"")
            case .none: writer.raw("\"none\"")
            case .function(let name):
                writer.raw("{\"type\":\"function\",\"function\":{\"name\":")
                writer.string(name)
                writer.raw("}}")
            }
        }
        if let parallelToolCalls {
            writer.raw(",\"parallel_tool_calls\":")
            writer.bool(parallelToolCalls)
        }
        writer.raw(",\"max_completion_tokens\":")
        writer.int(maxCompletionTokens)
        if !stop.isEmpty {
            writer.raw(",\"stop\":[")
            for (index, sequence) in stop.enumerated() {
                if index > 0 { writer.raw(",") }
                writer.string(sequence)
            }
            writer.raw("]")
        }
        if let temperature {
            writer.raw(",\"temperature\":")
            writer.double(temperature)
        }
        if let topP {
            writer.raw(",\"top_p\":")
            writer.double(topP)
        }
        if let reasoningEffort {
            writer.raw(",\"reasoning_effort\":")
            writer.string(reasoningEffort)
        }
        if let disableReasoning {
            writer.raw(",\"disable_reasoning\":")
            writer.bool(disableReasoning)
        }
        if let user {
            writer.raw(",\"user\":")
            writer.string(user)
        }
        if stream {
            writer.raw(",\"stream\":true,\"stream_options\":{\"include_usage\":true}")
        }
        writer.raw("}")
        return writer.takeBytes()
    }

    /// A size hint for the body: growing a large body from a small buffer costs a copy per doubling and leaves
    /// freed blocks behind.
    private var estimatedByteCount: Int {
        1024 + (system?.json.count ?? 0) + conversation.jsonByteCount + tools.json.count
    }
}

extension OpenAI.ChatMessage {
    func write(to writer: inout JSONWriter) {
        writer.raw("{\"role\":\"")
        writer.rawText(role.rawValue)
        writer.raw("\"")
        switch content {
        case .none:
            // OpenAI wants `content: null` on an assistant turn that only calls tools.
            writer.raw(",\"content\":null")
        case .text(let text):
            writer.raw(",\"content\":")
            writer.string(text)
        case .parts(let parts):
            writer.raw(",\"content\":[")
            for (index, part) in parts.enumerated() {
                if index > 0 { writer.raw(",") }
                switch part {
                case .text(let text):
                    writer.raw("{\"type\":\"text\",\"text\":")
                    writer.string(text)
                    writer.raw("}")
                case .imageURL(let url):
                    writer.raw("{\"type\":\"image_url\",\"image_url\":{\"url\":")
                    writer.string(url)
                    writer.raw("}}")
                }
            }
            writer.raw("]")
        }
        if !toolCalls.isEmpty {
            writer.raw(",\"tool_calls\":[")
            for (index, call) in toolCalls.enumerated() {
                if index > 0 { writer.raw(",") }
                writer.raw("{\"id\":")
                writer.string(call.id)
                writer.raw(",\"type\":\"function\",\"function\":{\"name\":")
                writer.string(call.name)
                writer.raw(",\"arguments\":")
                writer.string(call.arguments)
                writer.raw("}}")
            }
            writer.raw("]")
        }
        if let toolCallID {
            writer.raw(",\"tool_call_id\":")
            writer.string(toolCallID)
        }
        writer.raw("}")
    }
}
