import Shared
import Testing

@Suite("JSON parser: top-level members recognised by their bytes")
struct JSONParserKnownMemberTests {
    /// Parses `text` offering `tools` (known whole when the offered bytes start with `known`) and `messages` (its
    /// first `elements` elements known when the offered bytes start with `knownElements`), reporting the element ends
    /// of the member at `elementEndsOf`.
    static func parse(
        _ text: String, known: String? = nil, knownElements: (text: String, elements: Int)? = nil,
        elementEndsOf: Int? = 1
    ) throws -> (JSONDocumentWithKnownMembers, offered: [String]) {
        var offered: [String] = []
        let document = try JSONParser.parse(
            Array(text.utf8), offering: ["tools", "messages"], elementEndsOf: elementEndsOf
        ) { member, bytes in
            let rest = Array(bytes)
            offered.append(String(decoding: rest, as: UTF8.self))
            if member == 0, let known, rest.starts(with: Array(known.utf8)) { return .whole(length: known.utf8.count) }
            if member == 1, let knownElements, rest.starts(with: Array(knownElements.text.utf8)) {
                return .leadingElements(elements: knownElements.elements, length: knownElements.text.utf8.count)
            }
            return nil
        }
        return (document, offered)
    }

    static func slice(_ text: String, _ range: Range<Int>?) -> String? {
        range.map { String(decoding: Array(text.utf8)[$0], as: UTF8.self) }
    }

    @Test("a known value is stepped over and left out; the rest parses as usual")
    func knownValueSkipped() throws {
        let text = #"{"model":"m", "tools" : [{"name":"a"}] ,"n":[1,{"tools":2}]}"#
        let (document, offered) = try Self.parse(text, known: #"[{"name":"a"}]"#)
        let tools = try #require(document.members[0])
        #expect(tools.known == .whole(length: 14))
        #expect(Self.slice(text, tools.range) == #"[{"name":"a"}]"#)
        #expect(document.members[1] == nil)
        #expect(document.root == (try JSONParser.parse(#"{"model":"m","n":[1,{"tools":2}]}"#)))
        // Offered from the value's first byte, and only the top-level member (not the nested "tools").
        #expect(offered == [#"[{"name":"a"}] ,"n":[1,{"tools":2}]}"#])
    }

    @Test("an unknown value is parsed and its range and element ends reported")
    func unknownValueParsed() throws {
        let text = #"{"tools":[{"name":"b"}, 7 ],"model":"m"}"#
        let (document, _) = try Self.parse(text, known: #"[{"name":"a"}]"#, elementEndsOf: 0)
        let tools = try #require(document.members[0])
        #expect(tools.known == nil)
        #expect(Self.slice(text, tools.range) == #"[{"name":"b"}, 7 ]"#)
        #expect(tools.elementEnds == [13, 16])
        #expect(document.root == (try JSONParser.parse(text)))
        // Only the member named for it has its element ends reported.
        #expect(try Self.parse(text, elementEndsOf: 1).0.members[0]?.elementEnds == [])
        let (scalar, _) = try Self.parse(#"{"messages":"x"}"#)
        #expect(scalar.members[1]?.elementEnds == [])
    }

    @Test("known leading elements are stepped over; the elements after them are parsed, their ends reported")
    func leadingElementsSkipped() throws {
        let text = #"{"messages":[{"a":1}, {"b":2} , {"c":[3]},4],"model":"m"}"#
        let (document, _) = try Self.parse(text, knownElements: (#"[{"a":1}, {"b":2}"#, 2))
        let messages = try #require(document.members[1])
        #expect(messages.known == .leadingElements(elements: 2, length: 17))
        #expect(Self.slice(text, messages.range) == #"[{"a":1}, {"b":2} , {"c":[3]},4]"#)
        #expect(document.root == (try JSONParser.parse(#"{"messages":[{"c":[3]},4],"model":"m"}"#)))
        // Offsets from the `[`: the ends of `{"c":[3]}` and `4`.
        #expect(messages.elementEnds == [29, 31])
        let unknown = try #require(try Self.parse(text).0.members[1])
        #expect(unknown.elementEnds == [8, 17, 29, 31])

        let (all, _) = try Self.parse(#"{"messages":[{"a":1}]}"#, knownElements: (#"[{"a":1}"#, 1))
        #expect(all.root == (try JSONParser.parse(#"{"messages":[]}"#)))
        #expect(all.members[1]?.elementEnds == [])
        #expect(throws: JSONParseError.self) { try Self.parse(#"{"messages":[{"a":1} {"b":2}]}"#, knownElements: (#"[{"a":1}"#, 1)) }
        #expect(throws: JSONParseError.self) { try Self.parse(#"{"messages":[{"a":1},]}"#, knownElements: (#"[{"a":1}"#, 1)) }
        #expect(throws: JSONParseError.self) { try Self.parse(#"{"messages":[{"a":1}"#, knownElements: (#"[{"a":1}"#, 1)) }
    }

    @Test("with a member twice, the last occurrence decides")
    func lastOccurrenceWins() throws {
        let knownThenParsed = #"{"tools":[1],"tools":[2]}"#
        let (first, _) = try Self.parse(knownThenParsed, known: "[1]")
        #expect(first.members[0]?.known == nil)
        #expect(first.root["tools"] == .array([.number("2")]))
        #expect(Self.slice(knownThenParsed, first.members[0]?.range) == "[2]")

        let parsedThenKnown = #"{"tools":[2],"tools":[1]}"#
        let (second, _) = try Self.parse(parsedThenKnown, known: "[1]")
        #expect(second.members[0]?.known == .whole(length: 3))
        #expect(Self.slice(parsedThenKnown, second.members[0]?.range) == "[1]")

        let messagesTwice = #"{"messages":[1,2],"messages":[1,3]}"#
        let (third, _) = try Self.parse(messagesTwice, knownElements: ("[1", 1))
        #expect(third.root["messages"] == .array([.number("3")]))
        #expect(Self.slice(messagesTwice, third.members[1]?.range) == "[1,3]")
        #expect(third.members[1]?.elementEnds == [4])
    }

    @Test("errors after a skipped value keep their offsets")
    func errorsAfterSkip() throws {
        let text = #"{"tools":[1],"x":tru}"#
        var plainError: JSONParseError?
        do { _ = try JSONParser.parse(text) } catch let error as JSONParseError { plainError = error }
        #expect(plainError != nil)
        #expect(throws: plainError!) { try Self.parse(text, known: "[1]") }
        #expect(throws: JSONParseError.self) { try Self.parse(#"{"tools":[1]} x"#, known: "[1]") }
        #expect(throws: JSONParseError.self) { try Self.parse(#"{"tools":[1]"#, known: "[1]") }
    }

    @Test("a document that is not an object parses as with parse(_:)")
    func notAnObject() throws {
        let (document, offered) = try Self.parse(#"[{"tools":[1]}]"#, known: "[1]")
        #expect(document.root == (try JSONParser.parse(#"[{"tools":[1]}]"#)))
        #expect(document.members == [nil, nil])
        #expect(offered.isEmpty)
        #expect(try Self.parse("{}", known: nil).0.root == .object(JSONObject([])))
    }
}
