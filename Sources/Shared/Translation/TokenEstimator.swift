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
        text.withBorrowedUTF8 { TokenCountingMachine.count($0) }
    }

    /// Per-message framing overhead of chat templates (role markers, separators).
    static let perMessageOverhead = 4
    static let perRequestOverhead = 3

    /// Input tokens of an upstream request: exactly what would be sent (system + messages + tools).
    public static func count(_ request: OpenAI.ChatRequest) -> Int {
        perRequestOverhead + (request.system?.estimatedTokens ?? 0) + request.conversation.estimatedTokens
            + request.tools.estimatedTokens
    }

    /// Tokens of one message, its framing included (`OpenAI.MessageList` and `OpenAI.SystemMessage` count each once,
    /// when it is made).
    static func count(_ message: OpenAI.ChatMessage) -> Int {
        var total = perMessageOverhead
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
        return total
    }

    /// Tokens of a request's tools (`OpenAI.ToolList` counts them once, when it is made).
    static func count(_ tools: [OpenAI.FunctionTool]) -> Int {
        tools.reduce(0) { total, tool in
            total + count(tool.name) + (tool.description.map(count) ?? 0) + count(tool.parameters) + 8
        }
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
