extension OpenAI.ChatRequest {
    /// The request body, compact, keys in a fixed order: identical requests serialise to identical bytes,
    /// which both Cerebras's prefix cache and the gateway's response cache key rely on.
    public func jsonBytes() -> [UInt8] {
        withJSONPieces { pieces in
            let total = pieces.reduce(0) { $0 + $1.count }
            return [UInt8](unsafeUninitializedCapacity: total) { buffer, initialized in
                initialized = UnsafeMutableRawBufferPointer(buffer).copyJoined(pieces)
            }
        }
    }

    /// Calls `body` with the request body's bytes in pieces, in order, so that a caller can join them into memory of
    /// its choosing (the worker's upstream body): the messages and tools were written when they were made (and are
    /// often a memo's), and only what this request writes around them is written here.
    public func withJSONPieces<Result>(_ body: ([UnsafeRawBufferPointer]) throws -> Result) rethrows -> Result {
        // What this request writes, in one writer: the head, then what follows the tools.
        var own = JSONWriter(capacity: 320 + model.utf8.count)
        own.raw("{\"model\":")
        own.string(model)
        own.raw(",\"messages\":[")
        let headCount = own.count
        writeOptions(to: &own)
        let afterSystem: StaticString = system == nil || conversation.isEmpty ? "" : ","
        let afterMessages: StaticString = tools.isEmpty ? "]" : "],\"tools\":"
        return try own.withBytes { own in
            try (system?.json ?? []).withUnsafeBytes { system in
                try conversation.withJSON { messages in
                    try tools.json.withUnsafeBytes { tools in
                        try body([UnsafeRawBufferPointer(rebasing: own[..<headCount]), system,
                                  UnsafeRawBufferPointer(literal: afterSystem), messages,
                                  UnsafeRawBufferPointer(literal: afterMessages), tools,
                                  UnsafeRawBufferPointer(rebasing: own[headCount...])])
                    }
                }
            }
        }
    }

    /// What follows the tools: `tool_choice` and the sampling options, to the closing brace.
    private func writeOptions(to writer: inout JSONWriter) {
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
        if stream { writer.raw(Self.streamOptionsJSON) }
        writer.raw("}")
    }

    /// What a request for a stream writes last, before its closing brace: the usage comes in the stream's last chunk.
    static let streamOptionsJSON: StaticString = ",\"stream\":true,\"stream_options\":{\"include_usage\":true}"

    /// The bytes at the end of the body that say whether the answer is streamed: the stream options (written last)
    /// and the closing brace. The body less these asks the same in either mode (the response cache's key).
    public var streamDependentSuffixCount: Int { (stream ? Self.streamOptionsJSON.utf8CodeUnitCount : 0) + 1 }
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
