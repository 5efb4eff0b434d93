import Foundation
import Shared
import Testing

@Suite("System prompt memo")
struct SystemPromptMemoTests {
    static let claudeCode = ToolListMemoTests.claudeCode

    /// What a body translates to without any memo, as bytes sent upstream plus the token estimate, or the error.
    static func reference(_ body: [UInt8], options: TranslationOptions = TranslationOptions()) -> String {
        ConversationMemoTests.describe {
            let request = try Anthropic.MessagesRequest(json: JSONParser.parse(body))
            return try AnthropicToOpenAI.translate(request, catalog: ModelCatalog(), options: options)
        }
    }

    static func throughMemos(
        _ memos: TranslationMemos, _ body: [UInt8], options: TranslationOptions = TranslationOptions()
    ) -> String {
        ConversationMemoTests.describe {
            let decoded = try memos.decode(body, tenant: "tenant-a")
            return try memos.translate(decoded, body: body, catalog: ModelCatalog(), options: options)
        }
    }

    /// Only the system prompt memo on, so what is known is its doing.
    static func memos(capacity: Int = 4) -> TranslationMemos {
        TranslationMemos(tools: ToolListMemo(capacity: 0), systems: SystemPromptMemo(capacity: capacity),
                         conversations: ConversationMemo(budgetBytes: 0))
    }

    /// A small request whose system prompt is `system` (a JSON value's text).
    static func body(system: String, temperature: String = "1", messages: String = #"[{"role":"user","content":"hi"}]"#)
        -> [UInt8]
    {
        Array(#"{"model":"claude-sonnet-4-5","max_tokens":100,"temperature":\#(temperature),"system":\#(system),"messages":\#(messages)}"#.utf8)
    }

    static let longText = String(repeating: "Answer briefly and cite the source of every figure. ", count: 40)

    @Test("Claude Code's system prompt is known from its second request on, and the body sent is the same")
    func claudeCodeTwice() throws {
        let body = try ToolListMemoTests.claudeCodeBody { _ in }
        let expected = Self.reference(body)
        let memos = Self.memos()
        #expect(Self.throughMemos(memos, body) == expected)
        #expect(memos.systems.lookupCounts == MemoLookups(known: 0, new: 1))
        #expect(Self.throughMemos(memos, body) == expected)
        #expect(memos.systems.lookupCounts == MemoLookups(known: 1, new: 1))
        #expect(memos.systems.count == 1)
    }

    @Test("a known prompt is made again for other role: system texts or tuning, and each is kept under its bytes")
    func variants() throws {
        let memos = Self.memos()
        let tuned = TranslationOptions()
        let untuned = TranslationOptions(promptTuning: false)
        let plain = Self.body(system: "\"\(Self.longText)\"")
        let withSystemMessage = Self.body(
            system: "\"\(Self.longText)\"",
            messages: #"[{"role":"system","content":"Today is Friday."},{"role":"user","content":"hi"}]"#)
        let cases = [(plain, tuned), (plain, untuned), (withSystemMessage, tuned), (withSystemMessage, untuned)]
        for round in 0..<2 {
            for (index, (body, options)) in cases.enumerated() {
                #expect(Self.throughMemos(memos, body, options: options) == Self.reference(body, options: options),
                        "round \(round), case \(index)")
            }
        }
        // Every request after the first found the prompt's bytes; all four messages were made from one entry.
        #expect(memos.systems.lookupCounts == MemoLookups(known: 7, new: 1))
        #expect(memos.systems.count == 1)
        let untunedText = Self.throughMemos(memos, withSystemMessage, options: untuned)
        #expect(untunedText.contains(#"\n\nToday is Friday.""#))
        #expect(!untunedText.contains(PromptTuning.systemPrefix.prefix(40)))
    }

    @Test("a known prompt marks a code task, and leaves others alone, as an unknown one does")
    func codeTask() throws {
        let coding = Self.body(system: "\"You are a software engineering assistant. \(Self.longText)\"")
        let other = Self.body(system: "\"\(Self.longText)\"")
        let memos = Self.memos()
        for _ in 0..<2 {
            #expect(Self.throughMemos(memos, coding) == Self.reference(coding))
            #expect(Self.throughMemos(memos, other) == Self.reference(other))
        }
        #expect(memos.systems.lookupCounts == MemoLookups(known: 2, new: 2))
        #expect(Self.reference(coding).contains(#""temperature":0.85"#))
        #expect(Self.reference(other).contains(#""temperature":1"#))
    }

    @Test("prompts under 1 KiB are neither kept nor counted; a one-byte change and another form are other prompts")
    func whatIsKept() throws {
        let memos = Self.memos()
        let short = Self.body(system: #""Be brief.""#)
        #expect(Self.throughMemos(memos, short) == Self.reference(short))
        #expect(Self.throughMemos(memos, short) == Self.reference(short))
        #expect(memos.systems.lookupCounts == MemoLookups())
        #expect(memos.systems.count == 0)

        let text = Self.body(system: "\"\(Self.longText)\"")
        let changed = Self.body(system: "\"\(Self.longText)!\"")
        let blocks = Self.body(system: #"[{"type":"text","text":"\#(Self.longText)"}]"#)
        for body in [text, changed, blocks, text, changed, blocks] {
            #expect(Self.throughMemos(memos, body) == Self.reference(body))
        }
        #expect(memos.systems.lookupCounts == MemoLookups(known: 3, new: 3))
        #expect(memos.systems.count == 3)

        let off = Self.memos(capacity: 0)
        #expect(Self.throughMemos(off, text) == Self.reference(text))
        #expect(Self.throughMemos(off, text) == Self.reference(text))
        #expect(off.systems.lookupCounts == MemoLookups())
    }

    @Test("a body with a known prompt but an invalid field fails as it would without the memo")
    func errorsWithKnownPrompt() throws {
        let memos = Self.memos()
        let valid = Self.body(system: "\"\(Self.longText)\"")
        _ = Self.throughMemos(memos, valid)
        for broken in [
            Self.body(system: "\"\(Self.longText)\"", temperature: "3"),
            Self.body(system: "\"\(Self.longText)\"", messages: "[]"),
            Self.body(system: "\"\(Self.longText)\"", messages: #"[{"role":"system","content":"only this"}]"#),
        ] {
            let result = Self.throughMemos(memos, broken)
            #expect(result.hasPrefix("error:"))
            #expect(result == Self.reference(broken))
        }
        // The prompt was known to every one of them: the errors come from elsewhere.
        #expect(memos.systems.lookupCounts == MemoLookups(known: 3, new: 1))
    }
}
