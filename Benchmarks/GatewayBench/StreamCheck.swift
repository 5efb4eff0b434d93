#if canImport(Glibc)
import Glibc
#endif
import NIOCore

/// Which API a load run speaks: Anthropic Messages (gateway, LiteLLM) or OpenAI chat completions (fake, nginx).
enum APIKind: String, Sendable {
    case anthropic
    case openai
}

/// Incremental SSE reader for one response that timestamps every content event and checks its fidelity.
///
/// It looks only at what the check needs (event names, the text of content deltas, the usage count), with
/// `memmem` over raw bytes: the generator shares two cores with the system under test, so it must be cheap.
struct StreamCheck {
    let api: APIKind
    /// For `paced`: the number of `tok{i} ` tokens that must arrive, each once, in order.
    let expectTokens: Int?
    /// `paced;tool=1`: the tokens are a tool call's arguments, `{"content":"tok0\ntok1\n…"}`, streamed a fragment at a
    /// time; only fragments carrying tokens count as content events (for the time to first token and the gaps).
    let tokensInToolCall: Bool

    private var pending: [UInt8] = []
    private var scanFrom = 0
    private(set) var nextToken = 0
    private(set) var contentEvents = 0
    private(set) var events = 0
    private(set) var usageOutputTokens: Int?
    private(set) var sawEnd = false
    private(set) var sawErrorEvent = false
    private(set) var failure: String?
    private(set) var firstContentNanos: UInt64 = 0
    private(set) var lastContentNanos: UInt64 = 0
    private(set) var maxGapNanos: UInt64 = 0
    private var sawArgumentsOpen = false
    private var sawArgumentsClose = false

    init(api: APIKind, expectTokens: Int?, tokensInToolCall: Bool = false) {
        self.api = api
        self.expectTokens = expectTokens
        self.tokensInToolCall = tokensInToolCall
        pending.reserveCapacity(1024)
    }

    init(_ spec: LoadSpec) {
        self.init(api: spec.api, expectTokens: spec.expectTokens, tokensInToolCall: spec.tokensInToolCall)
    }

    // MARK: - Streaming

    /// Body bytes as they arrive, read at `now`.
    mutating func feed(_ bytes: ByteBufferView, now: UInt64, gaps: inout Histogram) {
        pending.append(contentsOf: bytes)
        var consumed = 0
        pending.withUnsafeBufferPointer { all in
            let base = UnsafeRawPointer(all.baseAddress!)
            while true {
                let searchStart = max(consumed, scanFrom)
                guard let end = Self.find(Self.eventEnd, in: base, from: searchStart, to: all.count) else {
                    scanFrom = max(consumed, all.count - 1)
                    break
                }
                let event = UnsafeRawBufferPointer(start: base + consumed, count: end - consumed)
                handleEvent(event, now: now, gaps: &gaps)
                consumed = end + 2
                scanFrom = consumed
            }
        }
        if consumed > 0 {
            pending.removeFirst(consumed)
            scanFrom -= consumed
        }
    }

    private mutating func handleEvent(_ event: UnsafeRawBufferPointer, now: UInt64, gaps: inout Histogram) {
        events += 1
        switch api {
        case .anthropic:
            if Self.hasPrefix(event, Self.evContentDelta) {
                if tokensInToolCall {
                    if let fragment = Self.stringValue(after: Self.partialJSONKey, in: event) {
                        toolArguments(fragment, now: now, gaps: &gaps)
                    }
                } else if let text = Self.stringValue(after: Self.textKey, in: event) {
                    content(text, now: now, gaps: &gaps)
                }
            } else if Self.hasPrefix(event, Self.evMessageDelta) {
                usageOutputTokens = Self.intValue(after: Self.outputTokensKey, in: event)
            } else if Self.hasPrefix(event, Self.evMessageStop) {
                sawEnd = true
            } else if Self.hasPrefix(event, Self.evError) {
                sawErrorEvent = true
                fail("error event: " + String(decoding: event.prefix(300), as: UTF8.self))
            }
        case .openai:
            if Self.find(Self.doneMarker, in: event.baseAddress!, from: 0, to: event.count) != nil {
                sawEnd = true
                return
            }
            if tokensInToolCall {
                if let fragment = Self.stringValue(after: Self.argumentsKey, in: event) {
                    toolArguments(fragment, now: now, gaps: &gaps)
                }
            } else if let text = Self.stringValue(after: Self.contentKey, in: event), !text.isEmpty {
                content(text, now: now, gaps: &gaps)
            }
            if let tokens = Self.intValue(after: Self.completionTokensKey, in: event) { usageOutputTokens = tokens }
            if Self.find(Self.errorKey, in: event.baseAddress!, from: 0, to: event.count) != nil {
                sawErrorEvent = true
                fail("error chunk: " + String(decoding: event.prefix(300), as: UTF8.self))
            }
        }
    }

    private mutating func content(_ text: UnsafeRawBufferPointer, now: UInt64, gaps: inout Histogram) {
        contentEvents += 1
        if contentEvents == 1 {
            firstContentNanos = now
        } else {
            let gap = now &- lastContentNanos
            gaps.record(gap)
            if gap > maxGapNanos { maxGapNanos = gap }
        }
        lastContentNanos = now
        if expectTokens != nil { checkTokens(text, separator: tokensInToolCall ? Self.escapedNewline : Self.space) }
    }

    /// A fragment of the tool call's arguments, still JSON-escaped as both APIs carry it: the first opens
    /// `{\"content\":\"`, the last closes `\"}`, and what lies between is tokens.
    private mutating func toolArguments(_ fragment: UnsafeRawBufferPointer, now: UInt64, gaps: inout Histogram) {
        guard !fragment.isEmpty, failure == nil else { return }
        var text = fragment
        if !sawArgumentsOpen {
            guard Self.hasPrefix(text, Self.argumentsOpen) else {
                return fail("tool call arguments do not open with {\"content\":\": "
                                + String(decoding: text.prefix(100), as: UTF8.self))
            }
            sawArgumentsOpen = true
            text = UnsafeRawBufferPointer(rebasing: text.dropFirst(Self.argumentsOpen.count))
        }
        if sawArgumentsClose { return fail("tool call arguments after their end") }
        if Self.hasSuffix(text, Self.argumentsClose) {
            sawArgumentsClose = true
            text = UnsafeRawBufferPointer(rebasing: text.dropLast(Self.argumentsClose.count))
        }
        if !text.isEmpty { content(text, now: now, gaps: &gaps) }
    }

    /// `text` must be `tok{next} tok{next+1} …`, each token followed by `separator`: a space in text, an escaped
    /// newline in a tool call's arguments (`\n` in their JSON, `\\n` once that is a JSON string again).
    private mutating func checkTokens(_ text: UnsafeRawBufferPointer, separator: [UInt8]) {
        guard failure == nil else { return }
        var i = 0
        let n = text.count
        while i < n {
            guard i + 3 < n, text[i] == 0x74, text[i + 1] == 0x6F, text[i + 2] == 0x6B else {
                return fail("unexpected content at token \(nextToken): \(String(decoding: text, as: UTF8.self))")
            }
            i += 3
            var value = 0
            var digits = 0
            while i < n, text[i] >= 0x30, text[i] <= 0x39 {
                value = value * 10 + Int(text[i] - 0x30)
                digits += 1
                i += 1
            }
            guard digits > 0, Self.hasPrefix(UnsafeRawBufferPointer(rebasing: text[i...]), separator) else {
                return fail("malformed token after tok\(nextToken - 1): \(String(decoding: text, as: UTF8.self))")
            }
            i += separator.count
            guard value == nextToken else {
                return fail(value < nextToken ? "token \(value) repeated or out of order (expected \(nextToken))"
                                              : "token \(nextToken) missing (got \(value))")
            }
            nextToken += 1
        }
    }

    private mutating func fail(_ message: String) {
        if failure == nil { failure = message }
    }

    /// Called at the end of the body: the stream must be complete and its usage match.
    mutating func finishStream() {
        guard failure == nil else { return }
        if !sawEnd { return fail("stream ended without message_stop/[DONE]") }
        guard let expected = expectTokens else { return }
        if nextToken != expected { return fail("received \(nextToken) of \(expected) tokens") }
        if tokensInToolCall, !sawArgumentsClose { return fail("tool call arguments never closed") }
        if usageOutputTokens != expected {
            fail("usage output tokens \(usageOutputTokens.map(String.init) ?? "missing") != \(expected)")
        }
    }

    // MARK: - Non-streaming

    /// A complete JSON body: checks the tokens in its text and its usage count.
    mutating func checkWholeBody(_ body: [UInt8]) {
        body.withUnsafeBytes { raw in
            let key = api == .anthropic ? Self.textKey : Self.contentKey
            if let expected = expectTokens {
                if tokensInToolCall {
                    checkWholeArguments(raw)
                } else if let text = Self.stringValue(after: key, in: raw) {
                    checkTokens(text, separator: Self.space)
                }
                let usageKey = api == .anthropic ? Self.outputTokensKey : Self.completionTokensKey
                usageOutputTokens = Self.intValue(after: usageKey, in: raw)
                if failure == nil, nextToken != expected { fail("received \(nextToken) of \(expected) tokens") }
                if failure == nil, usageOutputTokens != expected {
                    fail("usage output tokens \(usageOutputTokens.map(String.init) ?? "missing") != \(expected)")
                }
            } else if Self.stringValue(after: key, in: raw) == nil {
                fail("no text in body: " + String(decoding: raw.prefix(300), as: UTF8.self))
            }
        }
    }

    /// The tool call's arguments in a whole body: the parsed `input` of Anthropic's `tool_use` block (its one
    /// field, `content`, whose newlines are escaped once), or OpenAI's `arguments` string (escaped twice).
    private mutating func checkWholeArguments(_ raw: UnsafeRawBufferPointer) {
        switch api {
        case .anthropic:
            guard let text = Self.stringValue(after: Self.inputContentKey, in: raw) else {
                return fail("no tool_use input in body: " + String(decoding: raw.prefix(300), as: UTF8.self))
            }
            checkTokens(text, separator: Self.newline)
        case .openai:
            guard let arguments = Self.stringValue(after: Self.argumentsKey, in: raw),
                  Self.hasPrefix(arguments, Self.argumentsOpen), Self.hasSuffix(arguments, Self.argumentsClose)
            else { return fail("no tool call arguments in body: " + String(decoding: raw.prefix(300), as: UTF8.self)) }
            checkTokens(UnsafeRawBufferPointer(rebasing: arguments.dropFirst(Self.argumentsOpen.count)
                .dropLast(Self.argumentsClose.count)), separator: Self.escapedNewline)
        }
    }

    // MARK: - Byte helpers

    static let eventEnd: [UInt8] = Array("\n\n".utf8)
    static let evContentDelta: [UInt8] = Array("event: content_block_delta".utf8)
    static let evMessageDelta: [UInt8] = Array("event: message_delta".utf8)
    static let evMessageStop: [UInt8] = Array("event: message_stop".utf8)
    static let evError: [UInt8] = Array("event: error".utf8)
    static let doneMarker: [UInt8] = Array("data: [DONE]".utf8)
    static let textKey: [UInt8] = Array(#""text":"#.utf8)
    static let contentKey: [UInt8] = Array(#""content":"#.utf8)
    static let outputTokensKey: [UInt8] = Array(#""output_tokens":"#.utf8)
    static let completionTokensKey: [UInt8] = Array(#""completion_tokens":"#.utf8)
    static let errorKey: [UInt8] = Array(#"{"error":"#.utf8)
    static let partialJSONKey: [UInt8] = Array(#""partial_json":"#.utf8)
    static let argumentsKey: [UInt8] = Array(#""arguments":"#.utf8)
    static let inputContentKey: [UInt8] = Array(#""input":{"content":"#.utf8)
    static let argumentsOpen: [UInt8] = Array(#"{\"content\":\""#.utf8)
    static let argumentsClose: [UInt8] = Array(#"\"}"#.utf8)
    static let space: [UInt8] = [0x20]
    static let newline: [UInt8] = Array(#"\n"#.utf8)
    static let escapedNewline: [UInt8] = Array(#"\\n"#.utf8)

    @inline(__always)
    static func find(_ needle: [UInt8], in base: UnsafeRawPointer, from: Int, to end: Int) -> Int? {
        guard end - from >= needle.count else { return nil }
        // memchr for the first byte, then memcmp (Glibc does not export the GNU memmem to Swift).
        return needle.withUnsafeBytes { n in
            let first = Int32(n[0])
            var at = from
            let last = end - n.count
            while at <= last {
                guard let hit = memchr(base + at, first, last - at + 1) else { return nil }
                let offset = UnsafeRawPointer(hit) - base
                if memcmp(base + offset, n.baseAddress!, n.count) == 0 { return offset }
                at = offset + 1
            }
            return nil
        }
    }

    static func hasPrefix(_ buffer: UnsafeRawBufferPointer, _ prefix: [UInt8]) -> Bool {
        guard buffer.count >= prefix.count else { return false }
        return prefix.withUnsafeBytes { memcmp(buffer.baseAddress!, $0.baseAddress!, prefix.count) == 0 }
    }

    static func hasSuffix(_ buffer: UnsafeRawBufferPointer, _ suffix: [UInt8]) -> Bool {
        guard buffer.count >= suffix.count else { return false }
        return suffix.withUnsafeBytes {
            memcmp(buffer.baseAddress! + (buffer.count - suffix.count), $0.baseAddress!, suffix.count) == 0
        }
    }

    /// The raw (still escaped) string value after `key` (`"name":`, optionally followed by spaces), or nil when
    /// the value is not a string.
    static func stringValue(after key: [UInt8], in buffer: UnsafeRawBufferPointer) -> UnsafeRawBufferPointer? {
        guard let base = buffer.baseAddress, let at = find(key, in: base, from: 0, to: buffer.count) else { return nil }
        var open = at + key.count
        while open < buffer.count, buffer[open] == 0x20 { open += 1 }
        guard open < buffer.count, buffer[open] == UInt8(ascii: "\"") else { return nil }
        let start = open + 1
        var i = start
        while i < buffer.count {
            let byte = buffer[i]
            if byte == UInt8(ascii: "\\") {
                i += 2
                continue
            }
            if byte == UInt8(ascii: "\"") { return UnsafeRawBufferPointer(rebasing: buffer[start..<i]) }
            i += 1
        }
        return nil
    }

    static func intValue(after key: [UInt8], in buffer: UnsafeRawBufferPointer) -> Int? {
        guard let base = buffer.baseAddress, let at = find(key, in: base, from: 0, to: buffer.count) else { return nil }
        var i = at + key.count
        while i < buffer.count, buffer[i] == 0x20 { i += 1 }
        var value = 0
        var digits = 0
        while i < buffer.count, buffer[i] >= 0x30, buffer[i] <= 0x39 {
            value = value * 10 + Int(buffer[i] - 0x30)
            digits += 1
            i += 1
        }
        return digits > 0 ? value : nil
    }
}
