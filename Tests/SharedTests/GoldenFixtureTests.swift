import Foundation
import Shared
import Testing

/// Every `Tests/Fixtures/<case>/` through the real translators. `UPDATE_GOLDEN=1 swift test` rewrites the
/// expected files; review the diff.
@Suite("Golden translation fixtures")
struct GoldenFixtureTests {
    static let cases = (try? FixtureCase.all()) ?? []

    @Test("fixtures exist")
    func fixturesExist() {
        #expect(Self.cases.count >= 40)
    }

    @Test("request translation", arguments: cases.filter { $0.bytes("anthropic.request.json") != nil })
    func requestTranslation(_ fixture: FixtureCase) throws {
        let body = try #require(try fixture.json("anthropic.request.json"))
        let actual: String
        let file: String
        do {
            let request = try Anthropic.MessagesRequest(json: body)
            let translated = try AnthropicToOpenAI.translate(request, catalog: fixture.catalog, options: fixture.options)
            let upstream = try JSONParser.parse(translated.upstream.jsonBytes())
            // The compact bytes sent upstream and the golden file's content must be the same document.
            actual = PrettyJSON.render(upstream)
            file = "openai.request.json"
            #expect(translated.estimatedInputTokens > 0)
        } catch let error as RequestValidationError {
            actual = PrettyJSON.render(Self.errorJSON(.invalidRequest(error)))
            file = "error.json"
        } catch let error as GatewayError {
            actual = PrettyJSON.render(Self.errorJSON(error))
            file = "error.json"
        }
        if let mismatch = fixture.check(file, actual: actual) { Issue.record(Comment(rawValue: mismatch)) }
    }

    @Test("stream translation", arguments: cases.filter { $0.bytes("openai.stream.sse") != nil })
    func streamTranslation(_ fixture: FixtureCase) throws {
        let input = try #require(fixture.bytes("openai.stream.sse"))
        let model = (try fixture.json("anthropic.request.json"))?["model"]?.stringValue ?? "claude-sonnet-4-5"
        let whole = StreamHarness.run(input, model: model, feeding: .whole)
        let byLine = StreamHarness.run(input, model: model, feeding: .byLine)
        let byByte = StreamHarness.run(input, model: model, feeding: .byByte)
        #expect(whole == byLine, "fed line by line, \(fixture.name) gives other events")
        #expect(whole == byByte, "fed byte by byte, \(fixture.name) gives other events")
        let violations = AnthropicEventGrammar.violations(whole)
        #expect(violations.isEmpty, "\(fixture.name): \(violations)")

        let sse = String(decoding: SSEWriter.bytes(whole), as: UTF8.self)
        if let mismatch = fixture.check("anthropic.stream.sse", actual: sse) { Issue.record(Comment(rawValue: mismatch)) }
        let folded = PrettyJSON.render(StreamHarness.fold(whole))
        if let mismatch = fixture.check("anthropic.message.json", actual: folded) {
            Issue.record(Comment(rawValue: mismatch))
        }
    }

    @Test("non-streamed response", arguments: cases.filter { $0.bytes("openai.response.json") != nil })
    func nonStreamedResponse(_ fixture: FixtureCase) throws {
        let body = try #require(fixture.bytes("openai.response.json"))
        let model = (try fixture.json("anthropic.request.json"))?["model"]?.stringValue ?? "claude-sonnet-4-5"
        let events = StreamHarness.runCompletion(body, model: model, partBytes: body.count)
        #expect(StreamHarness.runCompletion(body, model: model, partBytes: 1) == events,
                "fed byte by byte, \(fixture.name) gives other events")
        #expect(AnthropicEventGrammar.violations(events).isEmpty)
        let folded = PrettyJSON.render(StreamHarness.fold(events))
        if let mismatch = fixture.check("anthropic.response.json", actual: folded) {
            Issue.record(Comment(rawValue: mismatch))
        }
        // Where a streamed twin exists, both modes must produce the same message.
        if let streamed = fixture.bytes("openai.stream.sse") {
            let fromStream = StreamHarness.fold(StreamHarness.run(streamed, model: model, feeding: .whole))
            #expect(PrettyJSON.render(fromStream) == folded, "stream and non-stream disagree for \(fixture.name)")
        }
    }

    static func errorJSON(_ error: GatewayError) -> JSONValue {
        .object(JSONObject([
            ("status", .int(error.status)), ("type", .string(error.type)), ("message", .string(error.message)),
        ]))
    }
}

/// Drives `UpstreamStreamTranslator` the way the worker does, with deterministic ids.
enum StreamHarness {
    enum Feeding { case whole, byLine, byByte }

    static func translator(model: String) -> OpenAIStreamToAnthropic {
        let counter = Counter()
        return OpenAIStreamToAnthropic(messageID: "msg_test", model: model, estimatedInputTokens: 100) {
            counter.next()
        }
    }

    static func run(_ input: [UInt8], model: String, feeding: Feeding) -> [AnthropicEvent] {
        var stream = UpstreamStreamTranslator(translator: translator(model: model))
        var events: [AnthropicEvent] = []
        stream.start(into: &events)
        switch feeding {
        case .whole:
            stream.feed(input, into: &events)
        case .byLine:
            var start = 0
            for (index, byte) in input.enumerated() where byte == 0x0A {
                stream.feed(input[start...index], into: &events)
                start = index + 1
            }
            stream.feed(input[start...], into: &events)
        case .byByte:
            for byte in input { stream.feed(CollectionOfOne(byte), into: &events) }
        }
        stream.endOfBody(into: &events)
        return events
    }

    /// A non-streamed body fed as the worker does, in parts of `partBytes` as they arrive, then its end.
    static func runCompletion(_ body: [UInt8], model: String, partBytes: Int,
                              maxLineBytes: Int = 16 * 1024 * 1024) -> [AnthropicEvent] {
        var stream = UpstreamStreamTranslator(translator: translator(model: model), maxLineBytes: maxLineBytes)
        var events: [AnthropicEvent] = []
        stream.start(into: &events)
        for start in stride(from: 0, to: body.count, by: max(1, partBytes)) {
            stream.feedCompletionPart(Array(body[start..<min(start + partBytes, body.count)]), into: &events)
        }
        stream.endOfCompletion(into: &events)
        return events
    }

    static func fold(_ events: [AnthropicEvent]) -> JSONValue {
        var fold = AnthropicMessageFold()
        for event in events { fold.consume(event) }
        switch fold.outcome {
        case .message(let message)?:
            // The bytes a client gets are written without the tree: they must be the tree's, exactly.
            precondition(message.serialized == message.json.serialized, "FoldedMessage.serialized differs from its tree")
            return message.json
        case .failure(let error)?: return GoldenFixtureTests.errorJSON(error)
        case nil: return .string("no outcome")
        }
    }

    final class Counter: @unchecked Sendable {
        private var value = 0
        func next() -> String {
            value += 1
            return "toolu_gen_\(value)"
        }
    }
}

extension FixtureCase: CustomTestStringConvertible {
    var testDescription: String { name }
}
