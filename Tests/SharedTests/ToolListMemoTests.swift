import Foundation
import Shared
import Testing

@Suite("Tool list memo")
struct ToolListMemoTests {
    /// What a body translates to without the memo, as bytes sent upstream plus the token estimate, or the error.
    static func reference(_ body: [UInt8], fixture: FixtureCase) -> String {
        do {
            let request = try Anthropic.MessagesRequest(json: JSONParser.parse(body))
            let translated = try AnthropicToOpenAI.translate(request, catalog: fixture.catalog, options: fixture.options)
            return String(decoding: translated.upstream.jsonBytes(), as: UTF8.self)
                + " tokens=\(translated.estimatedInputTokens) dropped=\(request.droppedServerTools)"
        } catch {
            return "error: \(error)"
        }
    }

    static func throughMemo(_ memo: ToolListMemo, _ body: [UInt8], fixture: FixtureCase) -> (String, known: Bool) {
        do {
            let decoded = try memo.decodeMessagesBody(body)
            let translated = try AnthropicToOpenAI.translate(
                decoded.request, catalog: fixture.catalog, options: fixture.options,
                upstreamTools: decoded.upstreamTools)
            return (String(decoding: translated.upstream.jsonBytes(), as: UTF8.self)
                + " tokens=\(translated.estimatedInputTokens) dropped=\(decoded.request.droppedServerTools)",
                decoded.toolsWereKnown)
        } catch {
            return ("error: \(error)", false)
        }
    }

    static let cases = GoldenFixtureTests.cases.filter { $0.bytes("anthropic.request.json") != nil }

    @Test("every golden request translates the same through the memo, the first time and when its tools are known",
          arguments: cases)
    func goldenRequests(_ fixture: FixtureCase) throws {
        let body = try #require(fixture.bytes("anthropic.request.json"))
        let expected = Self.reference(body, fixture: fixture)
        let memo = ToolListMemo(capacity: 4, minimumBytes: 1)
        let first = Self.throughMemo(memo, body, fixture: fixture)
        let second = Self.throughMemo(memo, body, fixture: fixture)
        #expect(first.0 == expected)
        #expect(!first.known)
        #expect(second.0 == expected)
        let hasTools = (try JSONParser.parse(body))["tools"] != nil
        let valid = !expected.hasPrefix("error:")
        #expect(second.known == (hasTools && valid), "tools present: \(hasTools), valid request: \(valid)")
    }

    static let claudeCode = GoldenFixtureTests.cases.first { $0.name == "claude-code-request" }!

    /// The Claude Code request with its body changed as `edit` says.
    static func claudeCodeBody(_ edit: (inout [(key: String, value: JSONValue)]) -> Void) throws -> [UInt8] {
        guard case .object(let object) = try claudeCode.json("anthropic.request.json") else {
            throw CocoaError(.fileReadCorruptFile)
        }
        var fields = object.fields
        edit(&fields)
        return JSONValue.object(JSONObject(fields)).serialized
    }

    @Test("a request whose tools differ by one byte is not served the remembered list")
    func oneByteDifference() throws {
        let memo = ToolListMemo(capacity: 4)
        let body = try Self.claudeCodeBody { _ in }
        #expect(!Self.throughMemo(memo, body, fixture: Self.claudeCode).known)
        #expect(memo.count == 1)
        let changed = try Self.claudeCodeBody { fields in
            let index = fields.firstIndex { $0.key == "tools" }!
            guard case .array(var tools) = fields[index].value, case .object(var last) = tools.removeLast() else {
                return
            }
            last["description"] = .string((last["description"]?.stringValue ?? "") + "!")
            tools.append(.object(last))
            fields[index].value = .array(tools)
        }
        let result = Self.throughMemo(memo, changed, fixture: Self.claudeCode)
        #expect(!result.known)
        #expect(result.0 == Self.reference(changed, fixture: Self.claudeCode))
        #expect(result.0.contains("!\",\"parameters\""))
        #expect(memo.count == 2)
        // Members before and after the tools may change freely: the tools are still known.
        let otherTurn = try Self.claudeCodeBody { fields in
            fields.append(("stop_sequences", .array([.string("END")])))
            fields.insert(("temperature", .number("0.5")), at: 0)
        }
        let later = Self.throughMemo(memo, otherTurn, fixture: Self.claudeCode)
        #expect(later.known)
        #expect(later.0 == Self.reference(otherTurn, fixture: Self.claudeCode))
    }

    @Test("the least recently used list is dropped first; small lists and capacity 0 keep nothing")
    func eviction() throws {
        func body(_ tool: String) -> [UInt8] {
            let schema = String(repeating: "x", count: 300)
            return Array((#"{"model":"m","max_tokens":1,"messages":[{"role":"user","content":"hi"}],"#
                + #""tools":[{"name":"\#(tool)","description":"\#(schema)","input_schema":{"type":"object"}}]}"#).utf8)
        }
        let memo = ToolListMemo(capacity: 2)
        _ = try memo.decodeMessagesBody(body("a"))
        _ = try memo.decodeMessagesBody(body("b"))
        #expect(try memo.decodeMessagesBody(body("a")).toolsWereKnown)  // a is now the most recent
        _ = try memo.decodeMessagesBody(body("c"))  // drops b
        #expect(memo.count == 2)
        #expect(try memo.decodeMessagesBody(body("a")).toolsWereKnown)
        #expect(try memo.decodeMessagesBody(body("c")).toolsWereKnown)
        #expect(try !memo.decodeMessagesBody(body("b")).toolsWereKnown)

        let small = Array(#"{"model":"m","max_tokens":1,"messages":[{"role":"user","content":"hi"}],"tools":[{"name":"t"}]}"#.utf8)
        let defaultMemo = ToolListMemo(capacity: 2)
        _ = try defaultMemo.decodeMessagesBody(small)
        #expect(defaultMemo.count == 0)
        let off = ToolListMemo(capacity: 0)
        _ = try off.decodeMessagesBody(body("a"))
        #expect(try !off.decodeMessagesBody(body("a")).toolsWereKnown)
        #expect(off.count == 0)
    }

    @Test("a body with known tools but an invalid message fails as it would without the memo")
    func errorsWithKnownTools() throws {
        let memo = ToolListMemo(capacity: 2)
        _ = try memo.decodeMessagesBody(try Self.claudeCodeBody { _ in })
        let broken = try Self.claudeCodeBody { fields in
            let index = fields.firstIndex { $0.key == "messages" }!
            fields[index].value = .array([.object(JSONObject([("role", .string("user"))]))])
        }
        let result = Self.throughMemo(memo, broken, fixture: Self.claudeCode)
        #expect(result.0.hasPrefix("error:"))
        #expect(result.0 == Self.reference(broken, fixture: Self.claudeCode))
    }

    @Test("count_tokens bodies get a default max_tokens and still use the memo")
    func defaultMaxTokens() throws {
        let memo = ToolListMemo(capacity: 2)
        let body = try Self.claudeCodeBody { fields in fields.removeAll { $0.key == "max_tokens" } }
        #expect(throws: RequestValidationError.self) { try memo.decodeMessagesBody(body) }
        let first = try memo.decodeMessagesBody(body, defaultMaxTokens: 1)
        #expect(first.request.maxTokens == 1)
        let second = try memo.decodeMessagesBody(body, defaultMaxTokens: 1)
        #expect(second.toolsWereKnown)
        #expect(second.request == first.request)
    }
}

extension ToolListMemo {
    /// Decodes through this memo alone, the conversation memo off.
    func decodeMessagesBody(_ body: [UInt8], defaultMaxTokens: Int? = nil) throws -> DecodedMessagesBody {
        try TranslationMemos(tools: self, conversations: ConversationMemo(budgetBytes: 0))
            .decode(body, tenant: "", defaultMaxTokens: defaultMaxTokens)
    }
}
