import Shared

/// The upstream-to-client path: Cerebras SSE body bytes → `UpstreamStreamTranslator` → Anthropic events →
/// `SSEWriter` bytes and `AnthropicMessageFold`.
///
/// Invariants (any violation aborts, which libFuzzer saves as a crash):
/// - nothing traps (precondition, overflow, out-of-bounds) and ASan sees no memory error;
/// - the events obey the Anthropic stream grammar (`StreamGrammar`, ported from the tests' StreamInvariants);
/// - the body fed whole, line by line, byte by byte and at fuzzer-chosen cuts gives identical events;
/// - the SSE the client receives re-parses into the same number of events, each `data:` valid JSON whose
///   `type` is the `event:` name;
/// - the fold of the events ends with an outcome, and a message outcome serialises to valid JSON;
/// - a transport failure injected at any cut still leaves a grammatical stream;
/// - the same bytes as a non-streamed body (`feedCompletion`) also give a grammatical stream;
/// - every `data:` payload the chunk scanner decodes, the generic JSON path decodes to the same chunk, and the same
///   for the whole input and each payload as a non-streamed body (`StreamChunkScanner.decodeCompletion`).
public func fuzzStream(_ input: [UInt8]) {
    let (body, lengths) = Splits.separate(input)

    let whole = run(body, cuts: [body.count])
    StreamGrammar.require(whole, "fed whole")

    let byLine = run(body, cuts: Splits.lineBoundaries(body))
    check(byLine == whole, "fed line by line gives other events\nwhole:   \(shown(whole))\nby line: \(shown(byLine))")

    let cuts = Splits.boundaries(count: body.count, lengths: lengths, seedFrom: body)
    let chunked = run(body, cuts: cuts)
    check(chunked == whole, "fed in \(cuts.count) chunks gives other events\nwhole:   \(shown(whole))\nchunked: \(shown(chunked))")

    // One byte per feed makes the SSE parser rescan its pending line each time (quadratic in the line length):
    // keep it to inputs where that costs little, so the fuzzer's exec/s stays useful.
    if body.count <= 4096 || Splits.allowQuadratic {
        let byByte = run(body, cuts: Array(1...max(1, body.count)).map { min($0, body.count) })
        check(byByte == whole, "fed byte by byte gives other events\nwhole:   \(shown(whole))\nby byte: \(shown(byByte))")
    }

    checkWire(whole)
    checkFold(whole)

    // A transport failure after the first cut.
    if let firstCut = cuts.first, firstCut < body.count {
        var stream = makeStream()
        var events: [AnthropicEvent] = []
        stream.start(into: &events)
        stream.feed(body[..<firstCut], into: &events)
        stream.fail(GatewayError(.api, "fuzz: connection reset"), into: &events)
        StreamGrammar.require(events, "transport failure after \(firstCut) bytes")
        checkFold(events)
    }

    // The same bytes as a non-streamed `application/json` body.
    var completion = makeStream()
    var events: [AnthropicEvent] = []
    completion.start(into: &events)
    completion.feedCompletion(body, into: &events)
    StreamGrammar.require(events, "feedCompletion")
    checkFold(events)

    checkSSEParser(body, cuts: cuts)
    checkChunkScanner(body)
}

private func checkChunkScanner(_ body: [UInt8]) {
    var parser = SSEParser()
    parser.append(body)
    // As the translator decodes a stream: each chunk after the members of the one before are remembered.
    var memo = StreamChunkScanner.Memo()
    while let event = try? parser.next() {
        let generic = try? OpenAI.StreamChunk(json: JSONParser.parse(event.data))
        if let scanned = event.data.withUnsafeBufferPointer({ StreamChunkScanner.decode($0) }) {
            check(generic == scanned, "the chunk scanner and the generic path disagree on \(shown(event.data))")
        }
        if let remembered = event.data.withUnsafeBufferPointer({ StreamChunkScanner.decode($0, repeating: &memo) }) {
            check(generic == remembered,
                  "the chunk scanner with remembered members and the generic path disagree on \(shown(event.data))")
        }
        checkCompletionScanner(Array(event.data))
    }
    checkCompletionScanner(body)
}

/// A non-streamed body the scanner decodes gives the chunks the generic path gives.
private func checkCompletionScanner(_ body: [UInt8]) {
    guard let scanned = body.withUnsafeBufferPointer({ StreamChunkScanner.decodeCompletion($0) }) else { return }
    let generic = try? OpenAI.chunks(fromCompletion: JSONParser.parse(body))
    check(generic == OpenAI.chunks(completion: scanned),
          "the completion scanner and the generic path disagree on \(shown(body))")
}

private func makeStream() -> UpstreamStreamTranslator {
    UpstreamStreamTranslator(translator: OpenAIStreamToAnthropic(
        messageID: "msg_f", model: "m", estimatedInputTokens: 1, makeToolID: { "toolu_f" }))
}

private func run(_ body: [UInt8], cuts: [Int]) -> [AnthropicEvent] {
    var stream = makeStream()
    var events: [AnthropicEvent] = []
    stream.start(into: &events)
    for piece in Splits.chunks(body, ends: cuts) {
        stream.feed(piece, into: &events)
    }
    stream.endOfBody(into: &events)
    check(stream.isFinished, "not finished after endOfBody")
    // Bytes after the end change nothing.
    let count = events.count
    stream.feed(Array("data: {\"choices\":[{\"delta\":{\"content\":\"late\"}}]}\n\n".utf8), into: &events)
    stream.endOfBody(into: &events)
    check(events.count == count, "events after the stream finished: \(shown(events[count...]))")
    return events
}

/// What the client receives must be valid SSE carrying valid JSON.
private func checkWire(_ events: [AnthropicEvent]) {
    let wire = SSEWriter.bytes(events)
    var parser = SSEParser()
    parser.append(wire)
    var parsed: [SSEParser.Event] = []
    do {
        while let event = try parser.next() { parsed.append(event) }
    } catch {
        invariantFailed("SSEWriter output does not re-parse: \(error)")
    }
    check(parser.pendingByteCount == 0, "SSEWriter output ends with \(parser.pendingByteCount) bytes of a partial line")
    check(parsed.count == events.count,
          "SSEWriter wrote \(events.count) events, the parser read \(parsed.count)\n\(shown(String(decoding: wire, as: UTF8.self)))")
    for (event, sse) in zip(events, parsed) {
        check(sse.name == event.name, "event name \(shown(sse.name)) for \(event.name)")
        let json: JSONValue
        do {
            json = try JSONParser.parse(sse.data)
        } catch {
            invariantFailed("data of \(event.name) is not JSON (\(error)): \(shown(String(decoding: sse.data, as: UTF8.self)))")
        }
        check(json["type"]?.stringValue == event.name, "data.type \(shown(json["type"])) for event \(event.name)")
        // The strings the events carry survive the trip.
        if case .blockDelta(_, let delta) = event {
            let text: String
            let key: String
            switch delta {
            case .text(let value): (text, key) = (value, "text")
            case .thinking(let value): (text, key) = (value, "thinking")
            case .signature(let value): (text, key) = (value, "signature")
            case .inputJSON(let value): (text, key) = (value, "partial_json")
            }
            check(json["delta"]?[key]?.stringValue == text, "\(key) changed on the wire: \(shown(text)) → \(shown(json["delta"]?[key]))")
        }
    }
}

private func checkFold(_ events: [AnthropicEvent]) {
    var fold = AnthropicMessageFold()
    for event in events { fold.consume(event) }
    switch fold.outcome {
    case .message(let folded)?:
        let message = folded.json
        let bytes = folded.serialized
        check(bytes == message.serialized, "folded message written directly differs from its tree: \(shown(message))")
        check((try? JSONParser.parse(bytes)) == message, "folded message does not round-trip: \(shown(message))")
        check(message["content"]?.arrayValue != nil, "folded message without content: \(shown(message))")
    case .failure?:
        break
    case nil:
        invariantFailed("fold has no outcome after a complete stream: \(shown(events))")
    }
}

/// The SSE parser alone: events must not depend on how the bytes were cut.
private func checkSSEParser(_ body: [UInt8], cuts: [Int]) {
    func parse(_ pieces: [ArraySlice<UInt8>]) -> [SSEParser.Event] {
        var parser = SSEParser()
        var events: [SSEParser.Event] = []
        for piece in pieces {
            parser.append(piece)
            do {
                while let event = try parser.next() { events.append(event) }
            } catch {
                invariantFailed("SSEParser threw \(error) under the default 16 MiB line limit")
            }
        }
        return events
    }
    let whole = parse([body[...]])
    let chunked = parse(Splits.chunks(body, ends: cuts))
    check(whole == chunked, "SSEParser events depend on the cuts\nwhole:   \(shown(whole))\nchunked: \(shown(chunked))")
}
