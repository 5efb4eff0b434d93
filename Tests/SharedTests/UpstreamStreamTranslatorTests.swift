import Shared
import Testing

/// What an upstream may send before the translator stops keeping it: a stream line, or a non-streamed body, over
/// `maxLineBytes` fails the answer instead of growing the worker's memory.
struct UpstreamStreamTranslatorTests {
    static let body = Array(#"""
        {"id":"chatcmpl-1","object":"chat.completion","created":1,"model":"gpt-oss-120b","choices":[{"index":0,\#
        "message":{"role":"assistant","content":"Hello there"},"finish_reason":"stop"}],\#
        "usage":{"prompt_tokens":12,"completion_tokens":2,"total_tokens":14}}
        """#.utf8)

    @Test func aBodyAsLongAsTheBoundIsTranslated() {
        let events = StreamHarness.runCompletion(Self.body, model: "m", partBytes: 7, maxLineBytes: Self.body.count)
        #expect(!events.contains { if case .error = $0 { true } else { false } })
        let folded = StreamHarness.fold(events)
        #expect(folded["content"]?.arrayValue?.first?["text"]?.stringValue == "Hello there")
        #expect(folded["usage"]?["output_tokens"]?.intValue == 2)
    }

    @Test(arguments: [1, 7, 1_000])
    func aBodyOverTheBoundFailsOnceWithoutBeingTranslated(partBytes: Int) {
        let events = StreamHarness.runCompletion(Self.body, model: "m", partBytes: partBytes,
                                                 maxLineBytes: Self.body.count - 1)
        let errors = events.compactMap { if case .error(let error) = $0 { error } else { nil } }
        #expect(errors.map(\.message) == ["upstream sent an oversized response body"])
        #expect(!events.contains { if case .blockStart = $0 { true } else { false } })
        #expect(AnthropicEventGrammar.violations(events).isEmpty)
    }

    @Test func aStreamLineOverTheBoundFails() {
        var stream = UpstreamStreamTranslator(translator: StreamHarness.translator(model: "m"), maxLineBytes: 64)
        var events: [AnthropicEvent] = []
        stream.start(into: &events)
        stream.feed(Array("data: {\"choices\":[{\"delta\":{\"content\":\"\(String(repeating: "x", count: 80))".utf8),
                    into: &events)
        let errors = events.compactMap { if case .error(let error) = $0 { error } else { nil } }
        #expect(errors.map(\.message) == ["upstream sent an oversized stream line"])
        #expect(stream.isFinished)
    }
}
