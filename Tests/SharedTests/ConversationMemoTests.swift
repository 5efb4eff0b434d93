import Foundation
import Shared
import TestSupport
import Testing

@Suite("Conversation memo")
struct ConversationMemoTests {
    /// A text model for most names, a vision model for `vision-*`: what a conversation's media translate to depends
    /// on the model, which the memo must not carry over.
    static let catalog = ModelCatalog(
        rules: [ModelCatalog.Rule(pattern: "vision-*", target: "vision-model"),
                ModelCatalog.Rule(pattern: "*", target: "zai-glm-4.7")],
        profiles: ModelProfile.builtIn + [
            ModelProfile(name: "vision-model", contextWindow: 131_072, maxOutputTokens: 8_192, supportsVision: true),
        ])
    static let options = TranslationOptions(unsupportedMediaPlaceholder: "[media]")

    /// What a body translates to without any memo, as bytes sent upstream plus the token estimate, or the error.
    static func reference(_ body: [UInt8]) -> String {
        describe {
            let request = try Anthropic.MessagesRequest(json: JSONParser.parse(body))
            return try AnthropicToOpenAI.translate(request, catalog: catalog, options: options)
        }
    }

    static func throughMemos(_ memos: TranslationMemos, _ body: [UInt8], tenant: String = "tenant-a")
        -> (String, known: Int)
    {
        var known = 0
        let text = describe {
            let decoded = try memos.decode(body, tenant: tenant)
            known = decoded.knownConversation?.elements ?? 0
            return try memos.translate(decoded, body: body, catalog: catalog, options: options)
        }
        return (text, known)
    }

    static func describe(_ translate: () throws -> TranslatedRequest) -> String {
        do {
            let translated = try translate()
            return String(decoding: translated.upstream.jsonBytes(), as: UTF8.self)
                + " tokens=\(translated.estimatedInputTokens)"
        } catch {
            return "error: \(error)"
        }
    }

    static func memos(budgetBytes: Int = 1 << 24, minimumBytes: Int = 2) -> TranslationMemos {
        TranslationMemos(tools: ToolListMemo(capacity: 4), systems: SystemPromptMemo(capacity: 4, minimumBytes: 1),
                         conversations: ConversationMemo(budgetBytes: budgetBytes, minimumBytes: minimumBytes))
    }

    static let claudeCode = GoldenFixtureTests.cases.first { $0.name == "claude-code-request" }!

    static func claudeCodeRoot() throws -> JSONObject {
        guard case .object(let root) = try claudeCode.json("anthropic.request.json") else {
            throw CocoaError(.fileReadCorruptFile)
        }
        return root
    }

    static func body(_ root: JSONObject, messages: [JSONValue], model: String? = nil) -> [UInt8] {
        var root = root
        root["messages"] = .array(messages)
        if let model { root["model"] = .string(model) }
        return JSONValue.object(root).serialized
    }

    @Test("every golden request translates the same through the memos, the first time and when it is known")
    func goldenRequests() {
        for fixture in ToolListMemoTests.cases {
            guard let body = fixture.bytes("anthropic.request.json") else { continue }
            let catalog = fixture.catalog
            let options = fixture.options
            func run(_ memos: TranslationMemos?) -> String {
                Self.describe {
                    guard let memos else {
                        let request = try Anthropic.MessagesRequest(json: JSONParser.parse(body))
                        return try AnthropicToOpenAI.translate(request, catalog: catalog, options: options)
                    }
                    let decoded = try memos.decode(body, tenant: "tenant-a")
                    return try memos.translate(decoded, body: body, catalog: catalog, options: options)
                }
            }
            let expected = run(nil)
            let memos = Self.memos()
            #expect(run(memos) == expected, "\(fixture.name), first time")
            #expect(run(memos) == expected, "\(fixture.name), known")
        }
    }

    @Test("a conversation continued, edited, cut and branched at random translates as it does without the memo")
    func randomWalk() throws {
        let root = try Self.claudeCodeRoot()
        guard case .array(let start)? = root["messages"] else { throw CocoaError(.fileReadCorruptFile) }
        var random = SplitMix64(seed: 0xC0_47E5_A710)
        let memos = Self.memos()
        var messages = start
        var knownRequests = 0
        var knownElements = 0
        var totalElements = 0
        for step in 0..<400 {
            messages = ConversationEdits.apply(ConversationEdits.pick(using: &random), to: messages, step: step,
                                               using: &random)
            let model = Int.random(in: 0..<4, using: &random) == 0 ? "vision-sonnet" : "claude-sonnet-4-5"
            let body = Self.body(root, messages: messages, model: model)
            let (translated, known) = Self.throughMemos(memos, body)
            let expected = Self.reference(body)
            #expect(translated == expected, "step \(step)")
            guard translated == expected else { return }
            if known > 0 { knownRequests += 1 }
            knownElements += known
            totalElements += messages.count
        }
        // Most steps keep most of the conversation: the memo must have been used, or this test proves nothing.
        #expect(knownRequests > 250, "\(knownRequests) of 400 requests started from a known conversation")
        #expect(knownElements * 2 > totalElements, "\(knownElements) of \(totalElements) elements known")
    }

    @Test("the next turn of Claude Code's conversation starts from the one before, up to the moved cache marker")
    func nextTurn() throws {
        let root = try Self.claudeCodeRoot()
        guard case .array(var messages)? = root["messages"] else { throw CocoaError(.fileReadCorruptFile) }
        let memos = Self.memos(minimumBytes: ConversationMemo.defaultMinimumBytes)
        let first = Self.throughMemos(memos, Self.body(root, messages: messages))
        #expect(first.known == 0)
        #expect(memos.conversations.lookupCounts == .init(known: 0, new: 1))

        messages[messages.count - 1] = ConversationEdits.withCacheMarker(messages[messages.count - 1], false)
        messages.append(ConversationEdits.assistantCall(id: "toolu_next"))
        messages.append(ConversationEdits.withCacheMarker(ConversationEdits.toolResult(id: "toolu_next"), true))
        let next = Self.body(root, messages: messages)
        let second = Self.throughMemos(memos, next)
        #expect(second.0 == Self.reference(next))
        // Everything but the element whose cache marker moved, and the two new ones.
        #expect(second.known == messages.count - 3)
        #expect(memos.conversations.lookupCounts == .init(known: 1, new: 1))
        // The earlier turn's entry is superseded by the new one, not kept beside it.
        #expect(memos.conversations.count == 1)

        let retry = Self.throughMemos(memos, next)
        #expect(retry.0 == Self.reference(next))
        #expect(retry.known == messages.count)

        // Another tenant sending the same conversation starts from nothing, and keeps its own.
        let otherTenant = Self.throughMemos(memos, next, tenant: "tenant-b")
        #expect(otherTenant.0 == Self.reference(next))
        #expect(otherTenant.known == 0)
        #expect(memos.conversations.count == 2)
        #expect(Self.throughMemos(memos, next, tenant: "tenant-b").known == messages.count)
    }

    @Test("a body decoded again because its known start holds media translated for another model counts once")
    func redecodedBodyCountsOnce() throws {
        let root = try Self.claudeCodeRoot()
        guard case .array(let start)? = root["messages"] else { throw CocoaError(.fileReadCorruptFile) }
        var random = SplitMix64(seed: 7)
        let withImage = ConversationEdits.apply(.insertImage, to: start, step: 1, using: &random)
        let memos = Self.memos()
        let first = Self.body(root, messages: withImage, model: "vision-sonnet")
        #expect(Self.throughMemos(memos, first).0 == Self.reference(first))
        // The image was translated for a vision model; a text model's request decodes the conversation again.
        let next = Self.body(root, messages: withImage + [ConversationEdits.userText("and now?")],
                             model: "claude-sonnet-4-5")
        let (translated, known) = Self.throughMemos(memos, next)
        #expect(translated == Self.reference(next))
        #expect(known == withImage.count)
        #expect(memos.tools.lookupCounts == .init(known: 1, new: 1))
        #expect(memos.systems.lookupCounts == .init(known: 1, new: 1))
        #expect(memos.conversations.lookupCounts == .init(known: 1, new: 1))
    }

    @Test("short conversations, a memo turned off and a full budget")
    func limits() throws {
        let short = Array(#"{"model":"m","max_tokens":5,"messages":[{"role":"user","content":"hi"}]}"#.utf8)
        let defaults = Self.memos(minimumBytes: ConversationMemo.defaultMinimumBytes)
        _ = Self.throughMemos(defaults, short)
        #expect(defaults.conversations.count == 0)
        #expect(defaults.conversations.lookupCounts == .init(known: 0, new: 0))

        let root = try Self.claudeCodeRoot()
        guard case .array(let messages)? = root["messages"] else { throw CocoaError(.fileReadCorruptFile) }
        // A short conversation in a long body (Claude Code's first turn: its tools are most of the body) is not
        // a lookup either.
        let firstTurn = Self.body(root, messages: [ConversationEdits.userText("hello")])
        #expect(Self.throughMemos(defaults, firstTurn).0 == Self.reference(firstTurn))
        #expect(defaults.conversations.lookupCounts == .init(known: 0, new: 0))
        #expect(defaults.conversations.count == 0)

        let off = Self.memos(budgetBytes: 0)
        let body = Self.body(root, messages: messages)
        _ = Self.throughMemos(off, body)
        #expect(Self.throughMemos(off, body).known == 0)
        #expect(off.conversations.count == 0)

        // Room for two conversations (an entry may take half the budget): a third drops the least recently used.
        let one = Self.memos()
        _ = Self.throughMemos(one, body)
        let held = one.conversations.heldBytes
        let small = Self.memos(budgetBytes: held * 5 / 2)
        func otherBody(_ text: String) -> [UInt8] {
            var other = messages
            other[0] = ConversationEdits.userText(text)
            return Self.body(root, messages: other)
        }
        _ = Self.throughMemos(small, body)
        _ = Self.throughMemos(small, otherBody("b"))
        _ = Self.throughMemos(small, otherBody("c"))
        #expect(small.conversations.count == 2)
        #expect(small.conversations.heldBytes <= held * 5 / 2)
        #expect(Self.throughMemos(small, otherBody("c")).known == messages.count)
        #expect(Self.throughMemos(small, otherBody("b")).known == messages.count)
        #expect(Self.throughMemos(small, body).known == 0)
        // Bigger than half the budget: not kept.
        let tiny = Self.memos(budgetBytes: held * 3 / 2)
        _ = Self.throughMemos(tiny, body)
        #expect(tiny.conversations.count == 0)
    }
}

/// Edits of a conversation of the kinds clients make between two requests, and some they should not make.
enum ConversationEdits {
    enum Edit: CaseIterable {
        case continueWithTool, continueWithText, moveCacheMarker, cutLastElements, editMiddleElement,
             insertSystemMessage, insertImage, insertUnansweredCall, resendAsItIs, restart
    }

    static func pick(using random: inout SplitMix64) -> Edit {
        // Continuing is what clients mostly do.
        let weighted: [Edit] = [.continueWithTool, .continueWithTool, .continueWithTool, .continueWithText,
                                .moveCacheMarker, .cutLastElements, .editMiddleElement, .insertSystemMessage,
                                .insertImage, .insertUnansweredCall, .resendAsItIs]
        return Int.random(in: 0..<60, using: &random) == 0 ? .restart : weighted.randomElement(using: &random)!
    }

    static func apply(_ edit: Edit, to messages: [JSONValue], step: Int, using random: inout SplitMix64)
        -> [JSONValue]
    {
        var messages = messages
        let id = "toolu_step_\(step)"
        switch edit {
        case .continueWithTool:
            messages[messages.count - 1] = withCacheMarker(messages[messages.count - 1], false)
            messages.append(assistantCall(id: id))
            messages.append(withCacheMarker(toolResult(id: id), true))
        case .continueWithText:
            messages.append(.object(JSONObject([
                ("role", .string("assistant")), ("content", .string("Done with step \(step).")),
            ])))
            messages.append(userText("Now step \(step + 1), please."))
        case .moveCacheMarker:
            let index = Int.random(in: 0..<messages.count, using: &random)
            messages[index] = withCacheMarker(messages[index], Bool.random(using: &random))
        case .cutLastElements:
            let keep = max(1, messages.count - Int.random(in: 1...4, using: &random))
            messages.removeLast(messages.count - keep)
        case .editMiddleElement:
            let index = Int.random(in: 0..<messages.count, using: &random)
            if messages[index]["role"]?.stringValue == "user" {
                messages[index] = userText("edited at step \(step)")
            } else {
                messages[index] = .object(JSONObject([
                    ("role", .string("assistant")), ("content", .string("edited at step \(step)")),
                ]))
            }
        case .insertSystemMessage:
            let index = Int.random(in: 0...messages.count, using: &random)
            messages.insert(.object(JSONObject([
                ("role", .string("system")), ("content", .string("system note \(step)")),
            ])), at: index)
        case .insertImage:
            messages.append(.object(JSONObject([
                ("role", .string("user")),
                ("content", .array([
                    .object(JSONObject([
                        ("type", .string("image")),
                        ("source", .object(JSONObject([
                            ("type", .string("base64")), ("media_type", .string("image/png")),
                            ("data", .string("iVBORw0KGgo\(step)")),
                        ]))),
                    ])),
                    .object(JSONObject([("type", .string("text")), ("text", .string("what is this? \(step)"))])),
                ])),
            ])))
        case .insertUnansweredCall:
            messages.append(assistantCall(id: id))
            messages.append(userText("never mind that call (\(step))"))
        case .resendAsItIs:
            break
        case .restart:
            messages = [userText("a new conversation at step \(step)")]
        }
        return messages
    }

    static func userText(_ text: String) -> JSONValue {
        .object(JSONObject([("role", .string("user")), ("content", .string(text))]))
    }

    static func assistantCall(id: String) -> JSONValue {
        .object(JSONObject([
            ("role", .string("assistant")),
            ("content", .array([
                .object(JSONObject([("type", .string("text")), ("text", .string("Reading the file."))])),
                .object(JSONObject([
                    ("type", .string("tool_use")), ("id", .string(id)), ("name", .string("Read")),
                    ("input", .object(JSONObject([("file_path", .string("/src/\(id).swift"))]))),
                ])),
            ])),
        ]))
    }

    static func toolResult(id: String) -> JSONValue {
        .object(JSONObject([
            ("role", .string("user")),
            ("content", .array([
                .object(JSONObject([
                    ("type", .string("tool_result")), ("tool_use_id", .string(id)),
                    ("content", .string(String(repeating: "let line = \"\(id)\"\n", count: 20))),
                ])),
            ])),
        ]))
    }

    /// `message` with its last content block carrying `cache_control` or not (string content becomes a block).
    static func withCacheMarker(_ message: JSONValue, _ marked: Bool) -> JSONValue {
        guard case .object(var object) = message else { return message }
        var blocks: [JSONValue]
        switch object["content"] {
        case .array(let list)?: blocks = list
        case .string(let text)?: blocks = [.object(JSONObject([("type", .string("text")), ("text", .string(text))]))]
        default: return message
        }
        guard case .object(var last)? = blocks.last else { return message }
        last["cache_control"] = marked ? .object(JSONObject([("type", .string("ephemeral"))])) : nil
        blocks[blocks.count - 1] = .object(last)
        object["content"] = .array(blocks)
        return .object(object)
    }
}
