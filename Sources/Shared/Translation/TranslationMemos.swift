/// A `POST /v1/messages` body decoded, with what the memos knew of it.
public struct DecodedMessagesBody: Sendable {
    /// The request; its `messages` are those after the known conversation's.
    public var request: Anthropic.MessagesRequest
    /// `AnthropicToOpenAI.translateTools(request.tools)`, made for this body or reused from the memo.
    public var upstreamTools: OpenAI.ToolList
    /// Whether the tools came from the memo.
    public var toolsWereKnown: Bool
    /// The translation of the leading elements of `messages` that the conversation memo knew; nil when none.
    public var knownConversation: KnownConversation?
    /// Where the body's `messages` value is and where its decoded elements end in it, for the conversation memo to
    /// keep after translation; nil when the memo does not take this body (off, or `messages` too short).
    var conversation: (range: Range<Int>, elementEnds: [Int])?
    /// What `decode` was asked to set as `max_tokens` when the body has none.
    var defaultMaxTokens: Int?
    /// Whose request it is, for the conversation memo.
    var tenant: String
}

/// What a worker remembers of earlier `POST /v1/messages` bodies so that later ones decode and translate faster:
/// their tool lists (`ToolListMemo`) and their conversations (`ConversationMemo`). A body goes through `decode`, then
/// `translate`; what comes out is exactly what decoding and translating it without the memos makes.
public struct TranslationMemos: Sendable {
    public let tools: ToolListMemo
    public let conversations: ConversationMemo

    public init(tools: ToolListMemo, conversations: ConversationMemo) {
        self.tools = tools
        self.conversations = conversations
    }

    private static let offeredMembers = ["tools", "messages"]

    /// Parses and validates a messages body as `Anthropic.MessagesRequest(json:)` does, taking its tools and the
    /// start of its conversation from the memos when their bytes are remembered.
    ///
    /// - Parameters:
    ///   - tenant: whose request it is (`Caller.tenant`): conversations are only continued by their own tenant.
    ///   - defaultMaxTokens: set as `max_tokens` when the body has none (`count_tokens` takes none).
    public func decode(_ body: UnsafeBufferPointer<UInt8>, tenant: String, defaultMaxTokens: Int? = nil) throws
        -> DecodedMessagesBody
    {
        try decode(body, tenant, defaultMaxTokens, startingFromKnownConversations: true)
    }

    public func decode(_ body: [UInt8], tenant: String, defaultMaxTokens: Int? = nil) throws -> DecodedMessagesBody {
        try body.withUnsafeBufferPointer { try decode($0, tenant: tenant, defaultMaxTokens: defaultMaxTokens) }
    }

    /// - Parameter startingFromKnownConversations: false decodes the whole of `messages` (keeping where its
    ///   elements end, for remembering), the conversation memo not asked.
    private func decode(
        _ buffer: UnsafeBufferPointer<UInt8>, _ tenant: String, _ defaultMaxTokens: Int?,
        startingFromKnownConversations: Bool
    ) throws -> DecodedMessagesBody {
        var knownTools: ToolListMemo.Entry?
        var knownConversation: KnownConversation?
        var conversationOffered = false
        // A body shorter than the memo's minimum cannot hold a conversation it keeps.
        let takesConversation = conversations.isWorthALookup(buffer)
        var document = try JSONParser.parse(
            buffer, offering: Self.offeredMembers, elementEndsOf: takesConversation ? 1 : nil
        ) { member, bytes in
            if member == 0 {
                knownTools = tools.entry(startingAt: bytes)
                return knownTools.map { .whole(length: $0.bytes.count) }
            }
            guard takesConversation, conversations.isWorthALookup(bytes) else { return nil }
            conversationOffered = true
            guard startingFromKnownConversations,
                let (known, length) = conversations.known(startingAt: bytes, tenant: tenant)
            else {
                knownConversation = nil
                return nil
            }
            knownConversation = known
            return .leadingElements(elements: known.elements, length: length)
        }
        let toolsMember = document.members[0]
        let messagesMember = document.members[1]
        if toolsMember != nil { tools.countLookup(known: toolsMember?.known != nil) }
        if messagesMember?.known == nil { knownConversation = nil }
        // Offered is not yet kept: the bytes offered ran to the end of the body, the value itself may be short.
        let conversationTaken = conversationOffered
            && (knownConversation != nil || (messagesMember?.range.count ?? 0) >= conversations.minimumBytes)
        if conversationTaken, startingFromKnownConversations {
            conversations.countLookup(known: knownConversation != nil)
        }
        if let defaultMaxTokens, case .object(var object) = document.root, object["max_tokens"] == nil {
            object["max_tokens"] = .int(defaultMaxTokens)
            document.root = .object(object)
        }

        let request: Anthropic.MessagesRequest
        let upstreamTools: OpenAI.ToolList
        if toolsMember?.known != nil, let knownTools {
            request = try Anthropic.MessagesRequest(
                json: document.root, knownTools: (knownTools.tools, knownTools.droppedServerTools),
                knownMessageCount: knownConversation?.elements ?? 0)
            upstreamTools = knownTools.upstream
        } else {
            request = try Anthropic.MessagesRequest(json: document.root, knownMessageCount: knownConversation?.elements ?? 0)
            upstreamTools = AnthropicToOpenAI.translateTools(request.tools)
            if let range = toolsMember?.range {
                tools.remember(bytes: UnsafeBufferPointer(rebasing: buffer[range]), tools: request.tools,
                               droppedServerTools: request.droppedServerTools, upstream: upstreamTools)
            }
        }
        var decoded = DecodedMessagesBody(request: request, upstreamTools: upstreamTools,
                                          toolsWereKnown: toolsMember?.known != nil,
                                          knownConversation: knownConversation, defaultMaxTokens: defaultMaxTokens,
                                          tenant: tenant)
        if conversationTaken, let messagesMember {
            decoded.conversation = (messagesMember.range, messagesMember.elementEnds)
        }
        return decoded
    }

    /// `AnthropicToOpenAI.translate` for the body `decoded` was decoded from, keeping its conversation for later
    /// requests.
    public func translate(
        _ decoded: DecodedMessagesBody, body: UnsafeBufferPointer<UInt8>, catalog: ModelCatalog,
        options: TranslationOptions, enforceContextWindow: Bool = true
    ) throws -> TranslatedRequest {
        if let media = decoded.knownConversation?.media, let profile = catalog.resolve(decoded.request.model),
            media != MediaTranslation(profile: profile, options: options)
        {
            // The known start's images or documents were translated for another kind of model: decode it all.
            let whole = try decode(body, decoded.tenant, decoded.defaultMaxTokens, startingFromKnownConversations: false)
            return try translateDecoded(whole, body: body, catalog: catalog, options: options,
                                        enforceContextWindow: enforceContextWindow)
        }
        return try translateDecoded(decoded, body: body, catalog: catalog, options: options,
                                    enforceContextWindow: enforceContextWindow)
    }

    public func translate(
        _ decoded: DecodedMessagesBody, body: [UInt8], catalog: ModelCatalog, options: TranslationOptions,
        enforceContextWindow: Bool = true
    ) throws -> TranslatedRequest {
        try body.withUnsafeBufferPointer {
            try translate(decoded, body: $0, catalog: catalog, options: options,
                          enforceContextWindow: enforceContextWindow)
        }
    }

    private func translateDecoded(
        _ decoded: DecodedMessagesBody, body: UnsafeBufferPointer<UInt8>, catalog: ModelCatalog,
        options: TranslationOptions, enforceContextWindow: Bool
    ) throws(GatewayError) -> TranslatedRequest {
        let translated = try AnthropicToOpenAI.translate(
            decoded.request, catalog: catalog, options: options, enforceContextWindow: enforceContextWindow,
            upstreamTools: decoded.upstreamTools, knownConversation: decoded.knownConversation,
            recordsCheckpoints: decoded.conversation != nil)
        if let conversation = decoded.conversation, conversation.range.upperBound <= body.count {
            conversations.remember(
                messages: UnsafeBufferPointer(rebasing: body[conversation.range]),
                elementEnds: conversation.elementEnds, known: decoded.knownConversation, translated: translated,
                tenant: decoded.tenant)
        }
        return translated
    }
}
