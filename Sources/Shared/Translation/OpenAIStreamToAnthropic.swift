/// The stream state machine: Cerebras chunks in, Anthropic events out.
///
/// Guarantees (checked by `AnthropicEventGrammar` in the tests and the fuzz targets): `message_start` first; exactly
/// one block open at a time; a block opens only with its first real content; indexes contiguous from 0; thinking
/// blocks end with a `signature_delta`; `tool_use` starts with `input: {}` and carries `input_json_delta`s; the
/// stream ends with `message_delta` + `message_stop`, or with an `error` event after closing the open block — never
/// a truncated stream that looks complete.
public struct OpenAIStreamToAnthropic {
    /// Clients drop thinking blocks without a signature; the backend has none to give, so an opaque constant.
    public static let thinkingSignature = "cerebras-gateway.unsigned-thinking.v1"

    @usableFromInline
    enum Phase: Equatable {
        case created
        case streaming
        /// `finish_reason` seen; waiting for `[DONE]` or the end of the body (usage may still arrive).
        case finishing(Anthropic.StopReason, stopSequence: String?)
        case ended
    }

    enum OpenBlock: Equatable {
        case thinking(index: Int)
        case text(index: Int)
        /// `call`: the call's position in `toolCalls`.
        case tool(index: Int, call: Int)
    }

    struct ToolCall {
        enum Status: Equatable { case pending, open, closed }
        let upstreamIndex: Int
        var id: String?
        var name: String?
        /// Every argument fragment received so far, as UTF-8 (appending to an array costs a fraction of appending
        /// to a string). A pending call's are sent as one delta when it opens; an open call's are sent as they come
        /// and kept to recognise the whole arguments sent again (`receiveToolCall`).
        var arguments: [UInt8] = []
        var scanner = JSONCompletenessScanner()
        var status = Status.pending
    }

    private let messageID: String
    private let model: String
    private let estimatedInputTokens: Int
    private let makeToolID: () -> String

    @usableFromInline private(set) var phase = Phase.created
    private var openBlock: OpenBlock?
    private var nextIndex = 0
    /// The upstream's tool calls in first-seen order (a few an answer: found by a walk, the open one first).
    private var toolCalls: [ToolCall] = []
    /// How many of `toolCalls` are pending, so that a fragment of the open call looks for none to open.
    private var pendingToolCalls = 0
    private var usage: OpenAI.Usage?
    private var contentDeltas = 0
    private var thinkTags = ThinkTagSplitter()

    /// - Parameters:
    ///   - model: the model name the client asked for (echoed back, never the backend's).
    ///   - makeToolID: ids for tool calls the upstream sent without one.
    public init(messageID: String, model: String, estimatedInputTokens: Int, makeToolID: @escaping () -> String) {
        self.messageID = messageID
        self.model = model
        self.estimatedInputTokens = estimatedInputTokens
        self.makeToolID = makeToolID
    }

    /// True once `message_stop` or `error` was produced. Inlinable: the worker asks after every chunk, and an opaque
    /// call on the translator its exchange holds made Swift copy the whole translator for it (retaining and releasing
    /// every reference in it).
    @inlinable public var isFinished: Bool {
        if case .ended = phase { return true }
        return false
    }

    /// True once anything derived from the upstream's answer was produced: from then on a retry is impossible.
    public var hasEmittedContent: Bool { nextIndex > 0 }

    /// The upstream's usage when it reported it.
    public var reportedUsage: OpenAI.Usage? { usage }

    // MARK: - Events in

    /// `message_start`, produced as soon as the request is accepted.
    public mutating func start(into events: inout [AnthropicEvent]) {
        guard phase == .created else { preconditionFailure("start() in phase \(phase)") }
        phase = .streaming
        events.append(.messageStart(id: messageID, model: model, inputTokens: estimatedInputTokens))
    }

    public mutating func receive(_ chunk: OpenAI.StreamChunk, into events: inout [AnthropicEvent]) {
        switch phase {
        case .created, .ended: preconditionFailure("receive() in phase \(phase)")
        case .streaming, .finishing: break
        }
        if let error = chunk.error {
            fail(UpstreamErrorMapping.map(error), into: &events)
            return
        }
        if let usage = chunk.usage { self.usage = usage }
        guard case .streaming = phase else { return }
        if let delta = chunk.delta {
            if let reasoning = delta.reasoning, !reasoning.isEmpty {
                emitThinking(reasoning, into: &events)
            }
            if let content = delta.content, !content.isEmpty {
                if thinkTags.passesThrough {
                    emitText(content, into: &events)
                } else if thinkTags.passesAsReasoning(content) {
                    emitThinking(content, into: &events)
                } else {
                    emit(thinkTags.split(content), into: &events)
                }
            }
            for call in delta.toolCalls {
                receiveToolCall(call, into: &events)
                if phase == .ended { return }
            }
        }
        if let finishReason = chunk.finishReason {
            emit(thinkTags.flush(), into: &events)
            closeOpenBlock(into: &events)
            flushPendingToolCalls(into: &events)
            guard phase != .ended else { return }
            if finishReason == "stop", let matched = chunk.matchedStop {
                phase = .finishing(.stopSequence, stopSequence: matched)
            } else {
                phase = .finishing(Self.stopReason(finishReason), stopSequence: nil)
            }
        }
    }

    /// `data: [DONE]`: the upstream says the answer is complete.
    public mutating func receiveDone(into events: inout [AnthropicEvent]) {
        switch phase {
        case .created, .ended: preconditionFailure("receiveDone() in phase \(phase)")
        case .finishing(let reason, let stopSequence):
            complete(reason, stopSequence: stopSequence, into: &events)
        case .streaming:
            // [DONE] without a finish_reason: the upstream still declared completion explicitly.
            emit(thinkTags.flush(), into: &events)
            closeOpenBlock(into: &events)
            flushPendingToolCalls(into: &events)
            guard phase != .ended else { return }
            complete(.endTurn, stopSequence: nil, into: &events)
        }
    }

    /// The upstream body ended. Complete only if a `finish_reason` was seen; otherwise the answer was cut off.
    public mutating func receiveEndOfBody(into events: inout [AnthropicEvent]) {
        switch phase {
        case .created, .ended: preconditionFailure("receiveEndOfBody() in phase \(phase)")
        case .finishing(let reason, let stopSequence):
            complete(reason, stopSequence: stopSequence, into: &events)
        case .streaming:
            fail(GatewayError(.api, "upstream stream ended before the answer was complete"), into: &events)
        }
    }

    /// A failure after the stream started (transport error, idle timeout, malformed chunk): close the open block
    /// and end with an `error` event.
    public mutating func fail(_ error: GatewayError, into events: inout [AnthropicEvent]) {
        guard phase != .ended else { return }
        closeOpenBlock(into: &events)
        events.append(.error(error))
        phase = .ended
    }

    // MARK: - Blocks

    private mutating func emitText(_ text: String, into events: inout [AnthropicEvent]) {
        let index = ensureBlock(.text(index: nextIndex), into: &events)
        events.append(.blockDelta(index: index, .text(text)))
        contentDeltas += 1
    }

    private mutating func emitThinking(_ text: String, into events: inout [AnthropicEvent]) {
        let index = ensureBlock(.thinking(index: nextIndex), into: &events)
        events.append(.blockDelta(index: index, .thinking(text)))
        contentDeltas += 1
    }

    /// Content that carried `<think>` tags, split into thinking and text.
    private mutating func emit(_ pieces: [ThinkTagSplitter.Piece], into events: inout [AnthropicEvent]) {
        for piece in pieces {
            switch piece {
            case .text(let text): emitText(text, into: &events)
            case .reasoning(let text): emitThinking(text, into: &events)
            }
        }
    }

    /// Makes `wanted` (text or thinking) the open block, closing another kind first. Returns its index.
    private mutating func ensureBlock(_ wanted: OpenBlock, into events: inout [AnthropicEvent]) -> Int {
        switch (openBlock, wanted) {
        case (.text(let index)?, .text), (.thinking(let index)?, .thinking):
            return index
        default:
            closeOpenBlock(into: &events)
            let index = nextIndex
            nextIndex += 1
            switch wanted {
            case .text:
                openBlock = .text(index: index)
                events.append(.blockStart(index: index, .text))
            case .thinking:
                openBlock = .thinking(index: index)
                events.append(.blockStart(index: index, .thinking))
            case .tool:
                preconditionFailure("ensureBlock() is for text and thinking blocks")
            }
            return index
        }
    }

    private mutating func closeOpenBlock(into events: inout [AnthropicEvent]) {
        guard let block = openBlock else { return }
        switch block {
        case .thinking(let index):
            events.append(.blockDelta(index: index, .signature(Self.thinkingSignature)))
            events.append(.blockStop(index: index))
        case .text(let index):
            events.append(.blockStop(index: index))
        case .tool(let index, let call):
            toolCalls[call].status = .closed
            events.append(.blockStop(index: index))
        }
        openBlock = nil
    }

    // MARK: - Tool calls

    private mutating func receiveToolCall(_ delta: OpenAI.ToolCallDelta, into events: inout [AnthropicEvent]) {
        let position = position(ofToolCall: delta.index)
        // Changed in place through its position, so that its arguments grow without a copy of the call.
        if toolCalls[position].id == nil, let id = delta.id, !id.isEmpty { toolCalls[position].id = id }
        if toolCalls[position].name == nil, let name = delta.name, !name.isEmpty { toolCalls[position].name = name }
        let fragment = delta.arguments ?? ""
        if !fragment.isEmpty {
            if toolCalls[position].scanner.isComplete {
                // The arguments already make a whole JSON value, which more text can only spoil. Some upstreams end
                // a call by sending its whole arguments again (with its id and name, as in its first chunk): the
                // same value again (byte for byte, or the same document spaced otherwise), or blanks, is left out;
                // anything else fails the answer rather than reach the client as arguments that do not parse.
                let arguments = toolCalls[position].arguments
                guard JSONCompletenessScanner.isBlank(fragment) || Self.isSameValue(fragment, arguments) else {
                    failLateArguments(ofToolCall: position, into: &events)
                    return
                }
            } else {
                guard toolCalls[position].status != .closed else {
                    failLateArguments(ofToolCall: position, into: &events)
                    return
                }
                toolCalls[position].arguments.append(contentsOf: fragment.utf8)
                toolCalls[position].scanner.feed(fragment)
                if toolCalls[position].status == .open, case .tool(let index, position)? = openBlock {
                    events.append(.blockDelta(index: index, .inputJSON(fragment)))
                    contentDeltas += 1
                }
            }
        }
        if pendingToolCalls > 0 { openNextToolCallIfPossible(into: &events) }
    }

    /// Arguments for a call that ended, or that follow its complete JSON (and are not the same value again).
    private mutating func failLateArguments(ofToolCall position: Int, into events: inout [AnthropicEvent]) {
        let when = toolCalls[position].status == .closed ? "it ended" : "its JSON was complete"
        let index = toolCalls[position].upstreamIndex
        fail(GatewayError(.api, "upstream sent arguments for tool call \(index) after \(when)"), into: &events)
    }

    /// Whether `text` is the JSON value `arguments` holds: the same bytes, or a document that parses to the same
    /// value (members in the same order, numbers written alike).
    private static func isSameValue(_ text: String, _ arguments: [UInt8]) -> Bool {
        if text.utf8.elementsEqual(arguments) { return true }
        guard let resent = try? JSONParser.parse(text), let sent = try? JSONParser.parse(arguments) else {
            return false
        }
        return resent == sent
    }

    /// Where the call with the upstream's `index` is in `toolCalls`, added (pending) when it is new.
    private mutating func position(ofToolCall index: Int) -> Int {
        if case .tool(_, let open)? = openBlock, toolCalls[open].upstreamIndex == index { return open }
        if let found = toolCalls.firstIndex(where: { $0.upstreamIndex == index }) { return found }
        toolCalls.append(ToolCall(upstreamIndex: index))
        pendingToolCalls += 1
        return toolCalls.count - 1
    }

    /// Opens the first pending call once the open block may close: it is text/thinking, or a tool call whose
    /// arguments are complete. Interleaved fragments of a later call wait, buffered, until then.
    private mutating func openNextToolCallIfPossible(into events: inout [AnthropicEvent]) {
        while let next = toolCalls.firstIndex(where: { $0.status == .pending && $0.name != nil }) {
            if case .tool(_, let open)? = openBlock {
                guard toolCalls[open].scanner.isComplete else { return }
            }
            closeOpenBlock(into: &events)
            open(toolCall: next, into: &events)
        }
    }

    private mutating func open(toolCall position: Int, into events: inout [AnthropicEvent]) {
        let id = toolCalls[position].id ?? makeToolID()
        toolCalls[position].id = id
        let index = nextIndex
        nextIndex += 1
        events.append(.blockStart(index: index, .toolUse(id: id, name: toolCalls[position].name ?? "")))
        if !toolCalls[position].arguments.isEmpty {
            let arguments = String(decoding: toolCalls[position].arguments, as: UTF8.self)
            events.append(.blockDelta(index: index, .inputJSON(arguments)))
            contentDeltas += 1
        }
        toolCalls[position].status = .open
        pendingToolCalls -= 1
        openBlock = .tool(index: index, call: position)
    }

    /// At the end of the answer every call still waiting is emitted whole, in first-seen order. A call that never
    /// got a function name cannot become a `tool_use` block: the answer fails rather than invent one.
    private mutating func flushPendingToolCalls(into events: inout [AnthropicEvent]) {
        for position in toolCalls.indices where toolCalls[position].status == .pending {
            guard toolCalls[position].name != nil else {
                let index = toolCalls[position].upstreamIndex
                fail(GatewayError(.api, "upstream sent tool call \(index) without a function name"), into: &events)
                return
            }
            closeOpenBlock(into: &events)
            open(toolCall: position, into: &events)
        }
        closeOpenBlock(into: &events)
    }

    // MARK: - Completion

    private mutating func complete(_ reason: Anthropic.StopReason, stopSequence: String?,
                                   into events: inout [AnthropicEvent]) {
        let usage = finalUsage()
        events.append(.messageDelta(stopReason: reason, stopSequence: reason == .stopSequence ? stopSequence : nil,
                                    usage: usage))
        events.append(.messageStop)
        phase = .ended
    }

    /// Anthropic counts cache reads apart from `input_tokens`; OpenAI's `prompt_tokens` includes them.
    func finalUsage() -> Anthropic.Usage {
        guard let usage else {
            return Anthropic.Usage(inputTokens: estimatedInputTokens, outputTokens: contentDeltas)
        }
        let cached = min(usage.cachedTokens, usage.promptTokens)
        return Anthropic.Usage(inputTokens: usage.promptTokens - cached, outputTokens: usage.completionTokens,
                               cacheReadInputTokens: cached)
    }

    static func stopReason(_ finishReason: String) -> Anthropic.StopReason {
        switch finishReason {
        case "length": return .maxTokens
        case "tool_calls", "function_call": return .toolUse
        case "content_filter": return .refusal
        default: return .endTurn
        }
    }
}
