/// What the fake assistant produces in one turn, independent of whether it is streamed.
///
/// Scenarios describe a `Turn`; `ScenarioPlayer` renders it as SSE chunks or as one
/// `chat.completion` object, so the two variants cannot drift apart.
struct Turn {
    /// How the content arrives: explicit pieces, or `tok0 `…`tok{n-1} ` rendered lazily (the paced hot path).
    enum Content {
        case pieces([String])
        case tokens(Int)
    }

    /// One tool call and the argument fragments it is streamed in.
    struct ToolCall {
        var id: String
        var name: String
        var fragments: [String]
        /// Streamed as a single chunk carrying id, name and full arguments (`tool_whole`).
        var whole = false
        /// `paced;tool=1`: lines `tok0\n`…`tok{n-1}\n` (the newline escaped, as in any JSON string) follow the first
        /// fragment, a chunk each, rendered lazily when due.
        var pacedTokens = 0

        var arguments: String {
            guard pacedTokens > 0, let first = fragments.first else { return fragments.joined() }
            return first + Turn.tokenText(pacedTokens, separator: "\\n") + fragments.dropFirst().joined()
        }

        /// Completion tokens the call reports: one a paced token, else one a fragment (at least one).
        var completionTokens: Int { pacedTokens > 0 ? pacedTokens : max(1, fragments.count) }
    }

    var reasoning: [String] = []
    var content: Content = .pieces([])
    var toolCalls: [ToolCall] = []
    /// Stream the calls' fragments round-robin instead of one call after the other.
    var interleaveToolCalls = false
    /// After the calls, send each one again whole, with its id and name (`resend=1`), as gpt-oss on Cerebras has
    /// been seen to end a streamed call: a client that appends every fragment gets its arguments twice.
    var resendToolCalls = false
    var finishReason = "stop"
    /// vLLM-style `stop_reason` in the choice (`stop_sequence`).
    var stopReason: String?

    /// The whole content as one string, nil when the turn has none.
    var fullContent: String? {
        switch content {
        case .pieces(let pieces):
            return pieces.isEmpty ? nil : pieces.joined()
        case .tokens(let count):
            return count > 0 ? Self.tokenText(count) : nil
        }
    }

    /// `tok0 tok1 … tok{count-1} `, as the paced chunks carry it, or with another separator after each token.
    static func tokenText(_ count: Int, separator: String = " ") -> String {
        var s = ""
        s.reserveCapacity(count * (6 + separator.utf8.count))
        for i in 0..<count { s += "tok\(i)" + separator }
        return s
    }

    var contentPieceCount: Int {
        switch content {
        case .pieces(let pieces): return pieces.count
        case .tokens(let count): return count
        }
    }

    /// Completion tokens to report: one per streamed piece of reasoning, content and arguments.
    var completionTokens: Int {
        reasoning.count + contentPieceCount + toolCalls.reduce(0) { $0 + $1.completionTokens }
    }
}

/// Splits `text` into word pieces, each word keeping the space before it ("Hello", " from", …).
func wordPieces(_ text: String) -> [String] {
    var pieces: [String] = []
    var current = ""
    for ch in text {
        if ch == " ", !current.isEmpty, current.last != " " {
            pieces.append(current)
            current = ""
        }
        current.append(ch)
    }
    if !current.isEmpty { pieces.append(current) }
    return pieces
}

/// Splits `text` into fragments of `size` characters (never splitting a character).
func fragments(_ text: String, size: Int) -> [String] {
    var out: [String] = []
    var current = ""
    for ch in text {
        current.append(ch)
        if current.count == size {
            out.append(current)
            current = ""
        }
    }
    if !current.isEmpty { out.append(current) }
    return out
}
