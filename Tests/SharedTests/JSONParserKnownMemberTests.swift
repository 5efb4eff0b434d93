import Shared
import Testing

@Suite("JSON parser: a top-level member recognised by its bytes")
struct JSONParserKnownMemberTests {
    /// Parses `text`, answering the callback with `known`'s length whenever the offered bytes start with it.
    static func parse(_ text: String, known: String?) throws -> (JSONDocumentWithKnownMember, offered: [String]) {
        var offered: [String] = []
        let document = try JSONParser.parse(Array(text.utf8), knownMember: "tools") { bytes in
            let rest = Array(bytes)
            offered.append(String(decoding: rest, as: UTF8.self))
            guard let known, rest.starts(with: Array(known.utf8)) else { return nil }
            return known.utf8.count
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
        #expect(document.memberWasKnown)
        #expect(Self.slice(text, document.memberRange) == #"[{"name":"a"}]"#)
        #expect(document.root == (try JSONParser.parse(#"{"model":"m","n":[1,{"tools":2}]}"#)))
        // Offered from the value's first byte, and only the top-level member (not the nested "tools").
        #expect(offered == [#"[{"name":"a"}] ,"n":[1,{"tools":2}]}"#])
    }

    @Test("an unknown value is parsed and its range reported")
    func unknownValueParsed() throws {
        let text = #"{"tools":[{"name":"b"}],"model":"m"}"#
        let (document, _) = try Self.parse(text, known: #"[{"name":"a"}]"#)
        #expect(!document.memberWasKnown)
        #expect(Self.slice(text, document.memberRange) == #"[{"name":"b"}]"#)
        #expect(document.root == (try JSONParser.parse(text)))
    }

    @Test("with the member twice, the last occurrence decides")
    func lastOccurrenceWins() throws {
        let knownThenParsed = #"{"tools":[1],"tools":[2]}"#
        let (first, _) = try Self.parse(knownThenParsed, known: "[1]")
        #expect(!first.memberWasKnown)
        #expect(first.root["tools"] == .array([.number("2")]))
        #expect(Self.slice(knownThenParsed, first.memberRange) == "[2]")

        let parsedThenKnown = #"{"tools":[2],"tools":[1]}"#
        let (second, _) = try Self.parse(parsedThenKnown, known: "[1]")
        #expect(second.memberWasKnown)
        #expect(Self.slice(parsedThenKnown, second.memberRange) == "[1]")
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
        #expect(document.memberRange == nil)
        #expect(offered.isEmpty)
        #expect(try Self.parse("{}", known: nil).0.root == .object(JSONObject([])))
    }
}
