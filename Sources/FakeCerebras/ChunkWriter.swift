import NIOCore

/// Formats the SSE events of one streamed completion as ready-to-write buffers.
///
/// Everything before the choice (`data: {"id":…,"choices":[`) is rendered once per stream; a
/// chunk is then one allocation and a few `memcpy`s, which matters when `paced` emits a chunk
/// every 0.33 ms on hundreds of streams.
struct ChunkWriter {
    private let prefix: [UInt8]
    private let created: Int
    private let allocator: ByteBufferAllocator

    private static let choiceOpen: StaticString = #"{"index":0,"delta":"#
    private static let openChoiceClose: StaticString = ",\"finish_reason\":null}]}\n\n"
    private static let tokenOpen: StaticString = #"{"content":"tok"#
    private static let tokenClose: StaticString = #" "}"#
    private static let toolTokenOpen: StaticString = #"{"tool_calls":[{"index":"#
    private static let toolTokenArguments: StaticString = #","function":{"arguments":"tok"#
    /// A tool call's token ends its line, as code does: `\n` in the arguments' JSON, `\\n` on the wire.
    private static let toolTokenClose: StaticString = #"\\n"}}]}"#

    /// Where a paced token goes: the message's content (`tok{i} `), or the arguments of the tool call at `index`
    /// (`paced;tool=1`, an agent writing a file a line at a time: `tok{i}` and an escaped newline).
    enum TokenPlace: Equatable {
        case content
        case toolArguments(index: Int)
    }

    static let done = ByteBuffer(string: "data: [DONE]\n\n")
    static let keepAliveComment = ByteBuffer(string: ": keep-alive\n\n")

    init(meta: CompletionMeta, allocator: ByteBufferAllocator = ByteBufferAllocator()) {
        let head = """
            data: {"id":"\(meta.id)","object":"chat.completion.chunk","created":\(meta.created),\
            "model":\(JSONText.quoted(meta.model)),"system_fingerprint":"fp_x","choices":[
            """
        self.prefix = Array(head.utf8)
        self.created = meta.created
        self.allocator = allocator
    }

    /// The paced hot path: `delta: {"content":"tok{i} "}`, or the same token as a fragment of a tool call's
    /// arguments, without going through `String`.
    func token(_ i: Int, in place: TokenPlace = .content) -> ByteBuffer {
        var buffer = allocator.buffer(capacity: prefix.count + 96)
        buffer.writeBytes(prefix)
        buffer.writeStaticString(Self.choiceOpen)
        switch place {
        case .content:
            buffer.writeStaticString(Self.tokenOpen)
        case .toolArguments(let index):
            buffer.writeStaticString(Self.toolTokenOpen)
            buffer.writeString(String(index))
            buffer.writeStaticString(Self.toolTokenArguments)
        }
        // Up to 15 digits is a small (inline) String: no heap allocation for the number.
        buffer.writeString(String(i))
        buffer.writeStaticString(place == .content ? Self.tokenClose : Self.toolTokenClose)
        buffer.writeStaticString(Self.openChoiceClose)
        return buffer
    }

    /// A chunk whose choice has `delta` (a JSON object) and no finish reason.
    func delta(_ deltaJSON: String) -> ByteBuffer {
        var buffer = allocator.buffer(capacity: prefix.count + deltaJSON.utf8.count + 48)
        buffer.writeBytes(prefix)
        buffer.writeStaticString(Self.choiceOpen)
        buffer.writeString(deltaJSON)
        buffer.writeStaticString(Self.openChoiceClose)
        return buffer
    }

    func role() -> ByteBuffer {
        delta(#"{"role":"assistant"}"#)
    }

    func content(_ text: String) -> ByteBuffer {
        delta(#"{"content":"# + JSONText.quoted(text) + "}")
    }

    func reasoning(_ text: String) -> ByteBuffer {
        delta(#"{"reasoning":"# + JSONText.quoted(text) + "}")
    }

    /// First chunk of a call: id, type, name and `arguments` (empty unless the call is sent whole).
    func toolCallStart(index: Int, call: Turn.ToolCall, arguments: String) -> ByteBuffer {
        delta(
            """
            {"tool_calls":[{"index":\(index),"id":\(JSONText.quoted(call.id)),"type":"function",\
            "function":{"name":\(JSONText.quoted(call.name)),"arguments":\(JSONText.quoted(arguments))}}]}
            """
        )
    }

    func toolCallArguments(index: Int, fragment: String) -> ByteBuffer {
        delta(#"{"tool_calls":[{"index":\#(index),"function":{"arguments":\#(JSONText.quoted(fragment))}}]}"#)
    }

    /// The final chunk: empty delta, `finish_reason`, optional `stop_reason`, optional usage.
    func finish(reason: String, stopReason: String?, usage: Usage?) -> ByteBuffer {
        var text = #"{"index":0,"delta":{},"finish_reason":"# + JSONText.quoted(reason)
        if let stopReason { text += #","stop_reason":"# + JSONText.quoted(stopReason) }
        text += "}]"
        if let usage { text += "," + usage.jsonFields(created: created) }
        text += "}\n\n"
        return withPrefix(text)
    }

    /// A usage-only chunk with `choices: []`, as sent after the finish chunk by some deployments.
    func usageOnly(_ usage: Usage) -> ByteBuffer {
        withPrefix("]," + usage.jsonFields(created: created) + "}\n\n")
    }

    /// An error carried inside the stream as a data event (Cerebras does this mid-generation).
    static func midstreamError() -> ByteBuffer {
        ByteBuffer(
            string: """
                data: {"error":{"message":"Internal error during generation","type":"server_error",\
                "code":"internal_error"},"status_code":500}\n\n
                """
        )
    }

    /// A data event whose JSON is cut off.
    static func malformed() -> ByteBuffer {
        ByteBuffer(string: "data: {\"choices\":[{\"delta\":{\"content\":\n\n")
    }

    private func withPrefix(_ rest: String) -> ByteBuffer {
        var buffer = allocator.buffer(capacity: prefix.count + rest.utf8.count)
        buffer.writeBytes(prefix)
        buffer.writeString(rest)
        return buffer
    }
}
