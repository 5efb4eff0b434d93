/// A `POST /v1/messages` body decoded, with its tools in the form they go upstream.
public struct DecodedMessagesBody: Sendable {
    public var request: Anthropic.MessagesRequest
    /// `AnthropicToOpenAI.translateTools(request.tools)`, made for this body or reused from the memo.
    public var upstreamTools: OpenAI.ToolList
    /// Whether the tools came from the memo.
    public var toolsWereKnown: Bool
}

extension ToolListMemo {
    /// Parses and validates a messages body as `Anthropic.MessagesRequest(json:)` does, taking its tools from the
    /// memo when their bytes are remembered and remembering them when not.
    ///
    /// - Parameter defaultMaxTokens: set as `max_tokens` when the body has none (`count_tokens` takes none).
    public func decodeMessagesBody(
        _ body: some Collection<UInt8>, defaultMaxTokens: Int? = nil
    ) throws -> DecodedMessagesBody {
        let decoded = try body.withContiguousStorageIfAvailable { try decodeMessagesBody(buffer: $0, defaultMaxTokens) }
        if let decoded { return decoded }
        return try Array(body).withUnsafeBufferPointer { try decodeMessagesBody(buffer: $0, defaultMaxTokens) }
    }

    private func decodeMessagesBody(buffer: UnsafeBufferPointer<UInt8>, _ defaultMaxTokens: Int?) throws
        -> DecodedMessagesBody
    {
        var known: Entry?
        var document = try JSONParser.parse(buffer, knownMember: "tools") { bytes in
            known = entry(startingAt: bytes)
            return known?.bytes.count
        }
        if document.memberRange != nil { countLookup(known: document.memberWasKnown) }
        if let defaultMaxTokens, case .object(var object) = document.root, object["max_tokens"] == nil {
            object["max_tokens"] = .int(defaultMaxTokens)
            document.root = .object(object)
        }
        if document.memberWasKnown, let known {
            let request = try Anthropic.MessagesRequest(
                json: document.root, knownTools: (known.tools, known.droppedServerTools))
            return DecodedMessagesBody(request: request, upstreamTools: known.upstream, toolsWereKnown: true)
        }
        let request = try Anthropic.MessagesRequest(json: document.root)
        let upstream = AnthropicToOpenAI.translateTools(request.tools)
        if let range = document.memberRange {
            remember(bytes: UnsafeBufferPointer(rebasing: buffer[range]), tools: request.tools,
                     droppedServerTools: request.droppedServerTools, upstream: upstream)
        }
        return DecodedMessagesBody(request: request, upstreamTools: upstream, toolsWereKnown: false)
    }
}
