/// A response from the upstream that does not have the shape Cerebras documents.
public struct UpstreamFormatError: Error, Equatable, CustomStringConvertible {
    public let message: String

    public init(_ message: String) {
        self.message = message
    }

    public var description: String { message }
}

extension OpenAI.StreamChunk {
    /// Decodes one `data:` payload. Unknown fields (`time_info`, `system_fingerprint`, …) are ignored.
    public init(json: JSONValue) throws {
        guard case .object(let root) = json else { throw UpstreamFormatError("stream chunk is not a JSON object") }
        if let error = root["error"], !error.isNull {
            self.init(error: OpenAI.StreamError(json: error, statusCode: root["status_code"]?.intValue))
            return
        }
        self.init()
        if let usage = root["usage"], !usage.isNull { self.usage = OpenAI.Usage(json: usage) }
        guard let choices = root["choices"]?.arrayValue, let choice = choices.first?.objectValue else { return }
        if let delta = choice["delta"]?.objectValue ?? choice["message"]?.objectValue {
            self.delta = try OpenAI.Delta(object: delta)
        }
        finishReason = choice["finish_reason"]?.stringValue
        matchedStop = choice["stop_reason"]?.stringValue ?? choice["matched_stop"]?.stringValue
    }
}

extension OpenAI.Delta {
    init(object: JSONObject) throws {
        content = object["content"]?.stringValue
        reasoning = object["reasoning"]?.stringValue ?? object["reasoning_content"]?.stringValue
        toolCalls = []
        for (position, raw) in (object["tool_calls"]?.arrayValue ?? []).enumerated() {
            guard case .object(let call) = raw else { throw UpstreamFormatError("tool_calls entry is not an object") }
            let function = call["function"]?.objectValue
            toolCalls.append(OpenAI.ToolCallDelta(
                index: call["index"]?.intValue ?? position,
                id: call["id"]?.stringValue,
                name: function?["name"]?.stringValue,
                arguments: function?["arguments"]?.stringValue))
        }
    }
}

extension OpenAI.Usage {
    init(json: JSONValue) {
        promptTokens = max(0, json["prompt_tokens"]?.intValue ?? 0)
        completionTokens = max(0, json["completion_tokens"]?.intValue ?? 0)
        cachedTokens = max(0, json["prompt_tokens_details"]?["cached_tokens"]?.intValue ?? 0)
    }
}

extension OpenAI.StreamError {
    /// Reads either the nested `{"error":{…},"status_code":N}` chunk or a flat Cerebras error body.
    public init(json: JSONValue, statusCode: Int?) {
        if case .string(let text) = json {
            self.init(statusCode: statusCode, type: nil, code: nil, message: text)
            return
        }
        let code: String? = json["code"]?.stringValue ?? json["code"]?.intValue.map(String.init)
        self.init(
            statusCode: statusCode ?? json["status_code"]?.intValue,
            type: json["type"]?.stringValue,
            code: code,
            message: json["message"]?.stringValue ?? "upstream error")
    }
}

extension OpenAI {
    /// Turns a non-streamed `chat.completion` body into the chunks a stream of it would have carried, so the
    /// non-streamed answer goes through the same translator as a streamed one.
    public static func chunks(fromCompletion json: JSONValue) throws -> [StreamChunk] {
        guard case .object(let root) = json else { throw UpstreamFormatError("completion is not a JSON object") }
        if let error = root["error"], !error.isNull {
            return [StreamChunk(error: StreamError(json: error, statusCode: root["status_code"]?.intValue))]
        }
        guard let choice = root["choices"]?.arrayValue?.first?.objectValue else {
            throw UpstreamFormatError("completion has no choices")
        }
        return chunks(completion: StreamChunk(
            delta: try choice["message"]?.objectValue.map(Delta.init(object:)),
            finishReason: choice["finish_reason"]?.stringValue,
            matchedStop: choice["stop_reason"]?.stringValue ?? choice["matched_stop"]?.stringValue,
            usage: root["usage"].flatMap { $0.isNull ? nil : Usage(json: $0) }))
    }

    /// The chunks of a non-streamed answer read as one chunk whose delta is its message
    /// (`StreamChunkScanner.decodeCompletion`, or the choice as `chunks(fromCompletion:)` reads it): the reasoning,
    /// the text and the tool calls each in a chunk of its own, then the finish (`stop` unless the answer says).
    public static func chunks(completion: StreamChunk) -> [StreamChunk] {
        var chunks: [StreamChunk] = []
        if let message = completion.delta {
            if let reasoning = message.reasoning, !reasoning.isEmpty {
                chunks.append(StreamChunk(delta: Delta(reasoning: reasoning)))
            }
            if let content = message.content, !content.isEmpty {
                chunks.append(StreamChunk(delta: Delta(content: content)))
            }
            if !message.toolCalls.isEmpty {
                chunks.append(StreamChunk(delta: Delta(toolCalls: message.toolCalls)))
            }
        }
        chunks.append(StreamChunk(finishReason: completion.finishReason ?? "stop", matchedStop: completion.matchedStop,
                                  usage: completion.usage))
        return chunks
    }
}
