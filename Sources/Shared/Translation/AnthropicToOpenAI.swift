/// Knobs of the request translation that come from configuration.
public struct TranslationOptions: Sendable, Equatable {
    /// Prefix the behavioural guideline and scale temperature for code tasks.
    public var promptTuning: Bool
    /// A gateway-wide cap on `max_completion_tokens` (Cerebras reserves it against the per-minute token budget).
    public var maxOutputTokensClamp: Int?
    /// Replaces images/documents a text-only model cannot read; nil answers such requests with a 400.
    public var unsupportedMediaPlaceholder: String?

    public init(promptTuning: Bool = true, maxOutputTokensClamp: Int? = nil, unsupportedMediaPlaceholder: String? = nil) {
        self.promptTuning = promptTuning
        self.maxOutputTokensClamp = maxOutputTokensClamp
        self.unsupportedMediaPlaceholder = unsupportedMediaPlaceholder
    }
}

/// The upstream request and what was learnt translating it.
public struct TranslatedRequest: Sendable, Equatable {
    public var upstream: OpenAI.ChatRequest
    public var profile: ModelProfile
    /// Local estimate of the input tokens, over exactly what is sent upstream.
    public var estimatedInputTokens: Int
    public var isCodeTask: Bool
    /// Where the translation stood after each element of `messages` translated here (not those of a known
    /// conversation), for `ConversationMemo`: empty unless asked for. `upstream.conversation` holds the messages
    /// they count.
    public var checkpoints: [ConversationCheckpoint] = []
    /// The system message sent and what it was made from, for `SystemPromptMemo`.
    public var systemPrompt: SystemPrompt

    /// The system texts of `role: "system"` elements of `messages`, a known conversation's included.
    public var messageSystemTexts: [String] { systemPrompt.messageSystemTexts }
}

/// Anthropic Messages request → Cerebras chat completions request. Pure: no I/O.
public enum AnthropicToOpenAI {
    /// Cerebras's accepted temperature range.
    static let temperatureRange = 0.0...1.5
    static let maxUserLength = 64

    /// The first `maxUserLength` characters of `metadata.user_id`. Claude Code sends one of about 150 ASCII bytes with
    /// every request, and taking a prefix by `Character` walks the grapheme rules for each (about 3,100
    /// instructions). Up to 64 bytes are at most 64 characters; in ASCII without a carriage return (CR LF is the one
    /// ASCII pair that makes a single character) every byte is one, so when the 65 first bytes are such, the 64 first
    /// are the answer. Anything else is cut by `Character`.
    static func upstreamUser(_ userID: String) -> String {
        userID.withBorrowedUTF8 { bytes in
            guard bytes.count > maxUserLength else { return userID }
            // Through the bytes' pointer: `utf8.prefix(_:)` steps `String.UTF8View`'s index, about 35 instructions a
            // byte.
            if bytes[...maxUserLength].allSatisfy({ $0 < 0x80 && $0 != UInt8(ascii: "\r") }) {
                return String(decoding: UnsafeBufferPointer(rebasing: bytes[..<maxUserLength]), as: UTF8.self)
            }
            return String(userID.prefix(maxUserLength))
        }
    }

    /// - Parameters:
    ///   - enforceContextWindow: false for `count_tokens`, which reports the size even when it is too big.
    ///   - upstreamTools: `translateTools(request.tools)` made before (`ToolListMemo`); nil makes it here.
    ///   - knownConversation: the translation of the `request.knownMessageCount` elements of `messages` before
    ///     `request.messages` (`ConversationMemo`); nil when there are none.
    ///   - recordsCheckpoints: fill in `checkpoints`, for a memo to keep.
    ///   - knownSystemPrompts: prompts made before from `request.system` (`SystemPromptMemo`); the one made with the
    ///     same `role: "system"` texts and tuning is taken as it is.
    public static func translate(
        _ request: Anthropic.MessagesRequest, catalog: ModelCatalog, options: TranslationOptions,
        enforceContextWindow: Bool = true, upstreamTools: OpenAI.ToolList? = nil,
        knownConversation: KnownConversation? = nil, recordsCheckpoints: Bool = false,
        knownSystemPrompts: [SystemPrompt] = []
    ) throws(GatewayError) -> TranslatedRequest {
        guard let profile = catalog.resolve(request.model) else {
            throw GatewayError(.notFound, "model: no backend is configured for model \"\(request.model)\"")
        }
        guard (knownConversation?.elements ?? 0) == request.knownMessageCount else {
            // A caller's mistake, not the client's: answered as the server's error rather than a crash of the worker
            // and every stream on it.
            throw GatewayError(.api, "internal error: the known conversation does not cover the messages left out")
        }
        var converter = MessageConverter(profile: profile, options: options, known: knownConversation)
        var checkpoints: [ConversationCheckpoint] = []
        if recordsCheckpoints { checkpoints.reserveCapacity(request.messages.count) }
        for (offset, message) in request.messages.enumerated() {
            try converter.convert(message, index: request.knownMessageCount + offset)
            if recordsCheckpoints, let checkpoint = converter.checkpoint { checkpoints.append(checkpoint) }
        }
        converter.answerUnansweredCalls()

        let systemPrompt = knownSystemPrompts.first {
            $0.isMade(messageSystemTexts: converter.systemTexts, promptTuning: options.promptTuning)
        } ?? SystemPrompt(system: request.system, messageSystemTexts: converter.systemTexts,
                          promptTuning: options.promptTuning)
        let isCodeTask = PromptTuning.isCodeTask(toolNames: request.tools.map(\.name),
                                                 systemText: systemPrompt.clientText)

        var upstream = OpenAI.ChatRequest(model: profile.name, system: systemPrompt.message,
                                          conversation: converter.messages, maxCompletionTokens: 0)
        upstream.tools = upstreamTools ?? translateTools(request.tools)
        if !upstream.tools.isEmpty, let choice = request.toolChoice {
            upstream.toolChoice = switch choice {
            case .auto: .auto
            case .any: .required
            case .tool(let name, _): .function(name)
            case .none: OpenAI.ToolChoice.none
            }
            if choice.disablesParallelToolUse { upstream.parallelToolCalls = false }
        }
        // A non-streaming client's answer is asked for whole: one body costs the worker one parse, where a stream
        // costs a pass per token (BENCHMARKS.md, "Forty-eighth round").
        upstream.stream = request.stream
        upstream.stop = request.stopSequences
        upstream.topP = request.topP
        upstream.temperature = temperature(for: request, isCodeTask: isCodeTask, options: options)
        upstream.user = request.metadataUserID.map(upstreamUser)
        applyReasoningControl(request, profile: profile, to: &upstream)

        let estimate = TokenEstimator.count(upstream)
        guard estimate < profile.contextWindow || !enforceContextWindow else {
            throw .promptTooLong(tokens: estimate, maximum: profile.contextWindow)
        }
        var maxTokens = min(request.maxTokens, profile.maxOutputTokens, profile.contextWindow - estimate)
        if let clamp = options.maxOutputTokensClamp { maxTokens = min(maxTokens, clamp) }
        upstream.maxCompletionTokens = max(1, maxTokens)

        return TranslatedRequest(upstream: upstream, profile: profile, estimatedInputTokens: estimate,
                                 isCodeTask: isCodeTask, checkpoints: checkpoints, systemPrompt: systemPrompt)
    }

    /// The tools as Cerebras takes them: function tools with the schema keywords it rejects taken out.
    static func translateTools(_ tools: [Anthropic.Tool]) -> OpenAI.ToolList {
        OpenAI.ToolList(tools.map {
            OpenAI.FunctionTool(name: $0.name, description: $0.description,
                                parameters: ToolSchemaSanitizer.sanitize($0.inputSchema))
        })
    }

    static func temperature(for request: Anthropic.MessagesRequest, isCodeTask: Bool,
                            options: TranslationOptions) -> Double? {
        var temperature = request.temperature
        if options.promptTuning, isCodeTask {
            // Anthropic's default temperature is 1.0; tuning scales the effective value.
            temperature = (temperature ?? 1.0) * PromptTuning.codeTemperatureFactor
        }
        return temperature.map { min(max($0, temperatureRange.lowerBound), temperatureRange.upperBound) }
    }

    static func applyReasoningControl(_ request: Anthropic.MessagesRequest, profile: ModelProfile,
                                      to upstream: inout OpenAI.ChatRequest) {
        switch profile.reasoning {
        case .none:
            return
        case .disableReasoning:
            if case .disabled = request.thinking { upstream.disableReasoning = true }
            if case .enabled = request.thinking { upstream.disableReasoning = false }
        case .reasoningEffort:
            if let effort = request.effort {
                upstream.reasoningEffort = switch effort {
                case "low", "minimal": "low"
                case "medium": "medium"
                default: "high"
                }
            } else if case .disabled = request.thinking {
                // Effort-controlled models cannot switch reasoning off; "low" is the closest they offer.
                upstream.reasoningEffort = "low"
            } else if case .enabled(let budget?) = request.thinking {
                upstream.reasoningEffort = budget < 4_096 ? "low" : budget < 16_384 ? "medium" : "high"
            }
        }
    }
}

/// Converts the conversation turn by turn, pairing tool results with the calls they answer.
private struct MessageConverter {
    let profile: ModelProfile
    let options: TranslationOptions
    private(set) var messages: OpenAI.MessageList
    /// Texts of `role: "system"` elements, which join the system prompt.
    private(set) var systemTexts: [String]
    /// Calls of the latest assistant turn still waiting for their `role: tool` message, in call order.
    var openCalls: [String]
    private var elements: Int
    private var hasConversation: Bool
    /// Set by the first image or document: how they translate depends on the model and the options.
    private var media: MediaTranslation?

    init(profile: ModelProfile, options: TranslationOptions, known: KnownConversation?) {
        self.profile = profile
        self.options = options
        messages = known.map { OpenAI.MessageList($0.messages) } ?? []
        systemTexts = known?.systemTexts ?? []
        openCalls = known?.openCalls ?? []
        elements = known?.elements ?? 0
        // A memo keeps no checkpoint before the first user or assistant element.
        hasConversation = known != nil
        media = known?.media
    }

    /// The state after the elements converted so far; nil before any user or assistant element (a later request
    /// starting from there would have no conversation of its own).
    var checkpoint: ConversationCheckpoint? {
        guard hasConversation else { return nil }
        return ConversationCheckpoint(
            elements: elements, messageCount: messages.count, jsonCount: messages.jsonByteCount,
            estimatedTokens: messages.estimatedTokens, openCalls: openCalls, systemTextCount: systemTexts.count,
            media: media)
    }

    mutating func convert(_ message: Anthropic.Message, index: Int) throws(GatewayError) {
        elements += 1
        switch message.role {
        case .system:
            // Newer Claude Code sends system text as messages; it joins the system prompt, in order.
            for block in message.content {
                if case .text(let text) = block { systemTexts.append(text) }
            }
        case .assistant:
            hasConversation = true
            answerUnansweredCalls()
            var texts: [String] = []
            var calls: [OpenAI.ToolCall] = []
            for block in message.content {
                switch block {
                case .text(let text) where !text.isEmpty:
                    texts.append(text)
                case .toolUse(let id, let name, let input):
                    calls.append(OpenAI.ToolCall(id: id, name: name, arguments: input.serializedString))
                default:
                    // Thinking from earlier turns is dropped: Cerebras rejects `reasoning_content` in requests.
                    continue
                }
            }
            guard !texts.isEmpty || !calls.isEmpty else { return }
            messages.append(OpenAI.ChatMessage(
                role: .assistant, content: texts.isEmpty ? .none : .text(Self.lines(texts)), toolCalls: calls))
            openCalls = calls.map(\.id)
        case .user:
            hasConversation = true
            var results: [(id: String, text: String)] = []
            var parts: [OpenAI.ContentPart] = []
            for (blockIndex, block) in message.content.enumerated() {
                let blockPath = BlockPath(message: index, block: blockIndex)
                if case .toolResult(let result) = block {
                    let text = try flattenToolResult(result, path: blockPath)
                    if let existing = results.firstIndex(where: { $0.id == result.toolUseID }) {
                        results[existing].text += "\n" + text
                    } else {
                        results.append((result.toolUseID, text))
                    }
                } else {
                    try appendParts(of: block, path: blockPath, to: &parts)
                }
            }
            emitToolMessages(results, orphanTextTo: &parts)
            answerUnansweredCalls()
            if let content = Self.content(from: parts) {
                messages.append(OpenAI.ChatMessage(role: .user, content: content))
            }
        }
    }

    /// One `role: tool` message per answered call, in the order the assistant made the calls.
    private mutating func emitToolMessages(_ results: [(id: String, text: String)],
                                           orphanTextTo parts: inout [OpenAI.ContentPart]) {
        guard !results.isEmpty else { return }
        for id in openCalls {
            guard let result = results.first(where: { $0.id == id }) else { continue }
            messages.append(OpenAI.ChatMessage(role: .tool, content: .text(result.text), toolCallID: id))
        }
        // A result for a call the previous assistant turn did not make would be rejected upstream as a tool
        // message without its call: keep its content as user text instead of losing it.
        for result in results where !openCalls.contains(result.id) {
            parts.insert(.text("[tool result \(result.id)]\n\(result.text)"), at: 0)
        }
        openCalls.removeAll { id in results.contains { $0.id == id } }
    }

    /// OpenAI-compatible servers reject an assistant tool call without its tool message; a call the client never
    /// answered (an interrupted turn) gets an explicit one.
    mutating func answerUnansweredCalls() {
        for id in openCalls {
            messages.append(OpenAI.ChatMessage(role: .tool, content: .text("(no result: the tool call was not completed)"),
                                               toolCallID: id))
        }
        openCalls.removeAll()
    }

    private mutating func flattenToolResult(_ result: Anthropic.ToolResult, path: BlockPath) throws(GatewayError)
        -> String
    {
        var parts: [OpenAI.ContentPart] = []
        for (index, block) in result.content.enumerated() {
            try appendParts(of: block, path: path.inResult(index), to: &parts)
        }
        var text = Self.lines(parts.map { part -> String in
            switch part {
            case .text(let text): return text
            // Tool messages carry text only; an image a vision model could see is referenced, not inlined.
            case .imageURL: return options.unsupportedMediaPlaceholder ?? "[image]"
            }
        })
        if result.isError { text = "Error: " + text }
        return text
    }

    private mutating func appendParts(of block: Anthropic.ContentBlock, path: BlockPath,
                                      to parts: inout [OpenAI.ContentPart]) throws(GatewayError) {
        switch block {
        case .text(let text):
            parts.append(.text(text))
        case .image(let source):
            try appendMedia(source, kind: "image", path: path, to: &parts)
        case .document(let document):
            switch document.source {
            case .text(let text):
                let title = document.title.map { "\($0)\n" } ?? ""
                parts.append(.text(title + text))
            case .media(let source):
                try appendMedia(source, kind: "document", path: path, to: &parts)
            }
        case .toolResult:
            throw GatewayError(.invalidRequest, "\(path): tool_result blocks are only allowed in user messages")
        case .toolUse:
            throw GatewayError(.invalidRequest, "\(path): tool_use blocks are only allowed in assistant messages")
        case .thinking, .redactedThinking, .unsupportedHistory:
            return
        }
    }

    private mutating func appendMedia(_ source: Anthropic.MediaSource, kind: String, path: BlockPath,
                                      to parts: inout [OpenAI.ContentPart]) throws(GatewayError) {
        media = MediaTranslation(profile: profile, options: options)
        if profile.supportsVision, kind == "image" {
            switch source {
            case .base64(let mediaType, let data): parts.append(.imageURL("data:\(mediaType);base64,\(data)"))
            case .url(let url): parts.append(.imageURL(url))
            }
            return
        }
        if let placeholder = options.unsupportedMediaPlaceholder {
            parts.append(.text(placeholder))
            return
        }
        throw GatewayError(
            .invalidRequest,
            "\(path): \(kind) blocks are not supported by model \"\(profile.name)\" (text-only); "
                + "remove the \(kind) or configure a vision-capable model")
    }

    /// Plain string content when every part is text (what Cerebras's text models expect), parts otherwise.
    static func content(from parts: [OpenAI.ContentPart]) -> OpenAI.Content? {
        guard !parts.isEmpty else { return nil }
        if parts.count == 1, case .text(let text) = parts[0] { return .text(text) }
        var texts: [String] = []
        for part in parts {
            guard case .text(let text) = part else { return .parts(parts) }
            texts.append(text)
        }
        return .text(lines(texts))
    }

    /// The texts one per line; a single text as it is (`joined` would build a copy of it).
    static func lines(_ texts: [String]) -> String {
        texts.count == 1 ? texts[0] : texts.joined(separator: "\n")
    }
}

/// Where a content block stands in the request, spelled out (`messages.3.content.1`, and `.content.0` after it for
/// a block inside a tool result) only when an error names it: building the text for every block of every message
/// cost more than converting most blocks.
private struct BlockPath: CustomStringConvertible {
    let message: Int
    let block: Int
    /// The block's index within the tool result at `block`, for a block inside one.
    var resultBlock: Int?

    func inResult(_ index: Int) -> BlockPath {
        var path = self
        path.resultBlock = index
        return path
    }

    var description: String {
        let blockPath = "messages.\(message).content.\(block)"
        return resultBlock.map { "\(blockPath).content.\($0)" } ?? blockPath
    }
}
