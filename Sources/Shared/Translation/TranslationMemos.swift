/// A `POST /v1/messages` body decoded, with what the memos knew of it.
public struct DecodedMessagesBody: Sendable {
    /// The request; its `messages` are those after the known conversation's.
    public var request: Anthropic.MessagesRequest
    /// `AnthropicToOpenAI.translateTools(request.tools)`, made for this body or reused from the memo.
    public var upstreamTools: OpenAI.ToolList
    /// Whether the tools came from the memo.
    public var toolsWereKnown: Bool
    /// The system prompt as the memo knew it (its texts are `request.system`); nil when it did not.
    var knownSystem: KnownSystemPrompt?
    /// Where the body's `system` value is, for the system prompt memo to keep after translation; nil when the memo
    /// does not take it (off, too short or too long).
    var systemRange: Range<Int>?
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
/// their tool lists (`ToolListMemo`), system prompts (`SystemPromptMemo`) and conversations (`ConversationMemo`). A
/// body goes through `decode`, then `translate`; what comes out is exactly what decoding and translating it without
/// the memos makes.
public struct TranslationMemos: Sendable {
    public let tools: ToolListMemo
    public let systems: SystemPromptMemo
    public let conversations: ConversationMemo

    public init(tools: ToolListMemo, systems: SystemPromptMemo = SystemPromptMemo(capacity: 0),
                conversations: ConversationMemo) {
        self.tools = tools
        self.systems = systems
        self.conversations = conversations
    }

    /// The members offered to the memos, by their index in `recognise`.
    private static let offeredMembers = ["tools", "messages", "system"]

    /// Parses and validates a messages body as `Anthropic.MessagesRequest(json:)` does, taking its tools, its system
    /// prompt and the start of its conversation from the memos when their bytes are remembered.
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
    ///   elements end, for remembering), the conversation memo not asked: a body decoded again, whose lookups
    ///   were counted the first time.
    private func decode(
        _ buffer: UnsafeBufferPointer<UInt8>, _ tenant: String, _ defaultMaxTokens: Int?,
        startingFromKnownConversations: Bool
    ) throws -> DecodedMessagesBody {
        var knownTools: ToolListMemo.Entry?
        var knownSystem: SystemPromptMemo.Entry?
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
            if member == 2 {
                knownSystem = systems.entry(startingAt: bytes)
                return knownSystem.map { .whole(length: $0.bytes.count) }
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
        let systemMember = document.members[2]
        if systemMember?.known == nil { knownSystem = nil }
        let systemRange = systemMember.flatMap { member in
            systems.keeps(UnsafeBufferPointer(rebasing: buffer[member.range])) ? member.range : nil
        }
        if startingFromKnownConversations {
            if toolsMember != nil { tools.countLookup(known: toolsMember?.known != nil) }
            // Only prompts the memo would keep count: most clients' one-line prompts are never worth a lookup.
            if knownSystem != nil || systemRange != nil { systems.countLookup(known: knownSystem != nil) }
        }
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
                json: document.root, knownTools: (knownTools.value.tools, knownTools.value.droppedServerTools),
                knownSystem: knownSystem?.value.texts, knownMessageCount: knownConversation?.elements ?? 0)
            upstreamTools = knownTools.value.upstream
        } else {
            request = try Anthropic.MessagesRequest(json: document.root, knownSystem: knownSystem?.value.texts,
                                                    knownMessageCount: knownConversation?.elements ?? 0)
            upstreamTools = AnthropicToOpenAI.translateTools(request.tools)
            if let range = toolsMember?.range {
                tools.remember(bytes: UnsafeBufferPointer(rebasing: buffer[range]),
                               value: KnownToolList(tools: request.tools, droppedServerTools: request.droppedServerTools,
                                                    upstream: upstreamTools))
            }
        }
        var decoded = DecodedMessagesBody(request: request, upstreamTools: upstreamTools,
                                          toolsWereKnown: toolsMember?.known != nil, knownSystem: knownSystem?.value,
                                          systemRange: systemRange, knownConversation: knownConversation,
                                          defaultMaxTokens: defaultMaxTokens, tenant: tenant)
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
            recordsCheckpoints: decoded.conversation != nil, knownSystemPrompts: decoded.knownSystem?.prompts ?? [])
        if let range = decoded.systemRange, range.upperBound <= body.count {
            rememberSystemPrompt(translated.systemPrompt, of: decoded, bytes: UnsafeBufferPointer(rebasing: body[range]))
        }
        if let conversation = decoded.conversation, conversation.range.upperBound <= body.count {
            conversations.remember(
                messages: UnsafeBufferPointer(rebasing: body[conversation.range]),
                elementEnds: conversation.elementEnds, known: decoded.knownConversation, translated: translated,
                tenant: decoded.tenant)
        }
        return translated
    }

    /// Keeps the system prompt a translation made, unless the memo had it.
    private func rememberSystemPrompt(
        _ prompt: SystemPrompt, of decoded: DecodedMessagesBody, bytes: UnsafeBufferPointer<UInt8>
    ) {
        let known = decoded.knownSystem?.prompts ?? []
        guard !known.contains(where: {
            $0.isMade(messageSystemTexts: prompt.messageSystemTexts, promptTuning: prompt.promptTuning)
        }) else { return }
        let prompts = [prompt] + known.prefix(SystemPromptMemo.promptsPerEntry - 1)
        systems.remember(bytes: bytes, value: KnownSystemPrompt(texts: decoded.request.system, prompts: prompts))
    }
}
