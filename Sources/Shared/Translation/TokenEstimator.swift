/// A fast local token estimate for `count_tokens`, the context pre-check and rate-limit reservations.
///
/// It approximates BPE tokenizers (cl100k-like, GLM's and gpt-oss's are close) without a vocabulary:
/// a run of letters or digits costs one token per 4 characters, a run of punctuation one per 2 characters,
/// spaces join the following word, and every non-ASCII scalar costs one token (CJK, emoji).
/// Properties the callers rely on: monotonic (appending text never lowers the count) and never 0 for
/// non-blank text. Accuracy is ±25% on English prose and code; it errs high on JSON-heavy input.
public enum TokenEstimator {
    /// Tokens for a bare text.
    public static func count(_ text: String) -> Int {
        var text = text
        return text.withUTF8 { count(bytes: $0) }
    }

    static func count(bytes: UnsafeBufferPointer<UInt8>) -> Int {
        var tokens = 0
        var wordRun = 0
        var punctuationRun = 0
        for byte in bytes {
            if byte >= 0x80 {
                flush(&tokens, &wordRun, &punctuationRun)
                // Count scalars by their lead bytes; continuation bytes (10xxxxxx) add nothing.
                if byte & 0xC0 != 0x80 { tokens += 1 }
            } else if isWordByte(byte) {
                if punctuationRun > 0 {
                    tokens += (punctuationRun + 1) / 2
                    punctuationRun = 0
                }
                wordRun += 1
            } else if byte == 0x20 || byte == 0x09 {
                flush(&tokens, &wordRun, &punctuationRun)
            } else {
                if wordRun > 0 {
                    tokens += (wordRun + 3) / 4
                    wordRun = 0
                }
                punctuationRun += 1
            }
        }
        flush(&tokens, &wordRun, &punctuationRun)
        return tokens
    }

    @inline(__always)
    private static func flush(_ tokens: inout Int, _ wordRun: inout Int, _ punctuationRun: inout Int) {
        tokens += (wordRun + 3) / 4 + (punctuationRun + 1) / 2
        wordRun = 0
        punctuationRun = 0
    }

    @inline(__always)
    private static func isWordByte(_ byte: UInt8) -> Bool {
        (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
            || byte == 0x5F
    }

    /// Per-message framing overhead of chat templates (role markers, separators).
    static let perMessageOverhead = 4
    static let perRequestOverhead = 3

    /// Input tokens of an upstream request: exactly what would be sent (system + messages + tools).
    public static func count(_ request: OpenAI.ChatRequest) -> Int {
        var total = perRequestOverhead
        for message in request.messages {
            total += perMessageOverhead
            switch message.content {
            case .none: break
            case .text(let text): total += count(text)
            case .parts(let parts):
                for part in parts {
                    switch part {
                    case .text(let text): total += count(text)
                    // Vision encoders bill a fixed-size grid per image; 765 is OpenAI's high-detail 512² tile cost.
                    case .imageURL: total += 765
                    }
                }
            }
            for call in message.toolCalls {
                total += count(call.name) + count(call.arguments) + 3
            }
        }
        for tool in request.tools {
            total += count(tool.name) + (tool.description.map(count) ?? 0) + count(tool.parameters) + 8
        }
        return total
    }

    /// Tokens of a JSON document as it would serialise, without serialising it: words of keys and strings, plus
    /// one token per structural piece (braces, quotes, separators merge in BPE vocabularies).
    static func count(_ value: JSONValue) -> Int {
        switch value {
        case .null, .bool, .number: return 1
        case .string(let text): return count(text) + 1
        case .array(let elements): return elements.reduce(1) { $0 + count($1) + 1 }
        case .object(let object): return object.fields.reduce(1) { $0 + count($1.key) + count($1.value) + 2 }
        }
    }
}
