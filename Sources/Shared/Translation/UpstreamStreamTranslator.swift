/// The whole upstream-to-client path for one response: SSE bytes, or a non-streamed body, in; Anthropic events out.
///
/// The worker feeds it what libcurl delivers; the tests feed it fixture files whole, by line and by byte.
public struct UpstreamStreamTranslator {
    private var parser: SSEParser
    public private(set) var translator: OpenAIStreamToAnthropic
    /// A non-streamed body (`application/json`) as it arrives, translated once whole (`endOfCompletion`).
    private var completionBody: [UInt8] = []
    /// The most a stream line or a non-streamed body may take: an upstream that sends more is failed, not buffered.
    private let maxLineBytes: Int
    private static let done = Array("[DONE]".utf8)
    /// What this stream's chunks repeat of each other, for the scanner to decode the next one faster.
    private var chunkMemo = StreamChunkScanner.Memo()

    public init(translator: OpenAIStreamToAnthropic, maxLineBytes: Int = 16 * 1024 * 1024) {
        self.translator = translator
        self.maxLineBytes = maxLineBytes
        parser = SSEParser(maxLineBytes: maxLineBytes)
    }

    /// Inlinable, like the translator's (see `OpenAIStreamToAnthropic.isFinished`).
    @inlinable public var isFinished: Bool { translator.isFinished }
    public var hasEmittedContent: Bool { translator.hasEmittedContent }

    public mutating func start(into events: inout [AnthropicEvent]) {
        translator.start(into: &events)
    }

    /// Streamed body bytes (`text/event-stream`), as the worker has them. Not generic: a generic call from another
    /// module runs unspecialised, copying the bytes one at a time through the `Sequence` witness.
    public mutating func feed(_ bytes: [UInt8], into events: inout [AnthropicEvent]) {
        guard !translator.isFinished else { return }
        parser.append(bytes)
        translateParsedEvents(into: &events)
    }

    /// Streamed body bytes in any shape (the tests cut fixtures by line and by byte).
    public mutating func feed(_ bytes: some Sequence<UInt8>, into events: inout [AnthropicEvent]) {
        guard !translator.isFinished else { return }
        parser.append(bytes)
        translateParsedEvents(into: &events)
    }

    private mutating func translateParsedEvents(into events: inout [AnthropicEvent]) {
        do {
            while !translator.isFinished, let event = try parser.next() {
                handle(event.data, into: &events)
            }
        } catch {
            translator.fail(GatewayError(.api, "upstream sent an oversized stream line"), into: &events)
        }
    }

    /// `data` is a slice of the parser's buffer (see `SSEParser.Event.data`); it is not kept.
    private mutating func handle(_ data: ArraySlice<UInt8>, into events: inout [AnthropicEvent]) {
        if data.count == 6, data.elementsEqual(Self.done) {
            translator.receiveDone(into: &events)
            return
        }
        do {
            let scanned = data.withUnsafeBufferPointer { StreamChunkScanner.decode($0, repeating: &chunkMemo) }
            let chunk = try scanned ?? OpenAI.StreamChunk(json: JSONParser.parse(data))
            translator.receive(chunk, into: &events)
        } catch {
            translator.fail(GatewayError(.api, "upstream sent a malformed stream chunk"), into: &events)
        }
    }

    /// Part of a non-streamed body (`application/json`, the answer to a request that did not ask for a stream, or
    /// from an upstream that does not stream), kept until `endOfCompletion`.
    public mutating func feedCompletionPart(_ bytes: [UInt8], into events: inout [AnthropicEvent]) {
        guard !translator.isFinished else { return }
        guard completionBody.count + bytes.count <= maxLineBytes else {
            completionBody = []
            translator.fail(GatewayError(.api, "upstream sent an oversized response body"), into: &events)
            return
        }
        completionBody.append(contentsOf: bytes)
    }

    /// The non-streamed body ended cleanly: its translation.
    public mutating func endOfCompletion(into events: inout [AnthropicEvent]) {
        var body: [UInt8] = []
        swap(&body, &completionBody)
        feedCompletion(body, into: &events)
    }

    /// A complete non-streamed body (`application/json`): the same translation, chunk by chunk.
    public mutating func feedCompletion(_ body: [UInt8], into events: inout [AnthropicEvent]) {
        guard !translator.isFinished else { return }
        do {
            let scanned = body.withUnsafeBufferPointer { StreamChunkScanner.decodeCompletion($0) }
            let chunks = try scanned.map(OpenAI.chunks(completion:))
                ?? OpenAI.chunks(fromCompletion: JSONParser.parse(body))
            for chunk in chunks where !translator.isFinished {
                translator.receive(chunk, into: &events)
            }
            if !translator.isFinished { translator.receiveDone(into: &events) }
        } catch {
            translator.fail(GatewayError(.api, "upstream sent a malformed response body"), into: &events)
        }
    }

    /// The upstream body ended cleanly.
    public mutating func endOfBody(into events: inout [AnthropicEvent]) {
        guard !translator.isFinished else { return }
        translator.receiveEndOfBody(into: &events)
    }

    /// The transfer failed (connection dropped, idle timeout, …).
    public mutating func fail(_ error: GatewayError, into events: inout [AnthropicEvent]) {
        translator.fail(error, into: &events)
    }
}
