/// Splits Qwen-style `<think>…</think>` reasoning out of the content stream.
///
/// Some models put their reasoning inside `content`, wrapped in think tags, at the very start of the answer.
/// Only a leading `<think>` counts (later occurrences are ordinary text), and the tags may be split across chunks:
/// a possible partial tag is held back until the next fragment decides it.
struct ThinkTagSplitter {
    enum Piece: Equatable {
        case reasoning(String)
        case text(String)
    }

    private enum Mode { case start, thinking, text }

    private static let open = "<think>"
    private static let close = "</think>"
    private var mode = Mode.start
    private var pending = ""

    /// True once the answer is past any leading think block: content is plain text from here on.
    var passesThrough: Bool { mode == .text }

    /// Pieces ready to emit for this content fragment, in order.
    mutating func split(_ fragment: String) -> [Piece] {
        if mode == .text { return fragment.isEmpty ? [] : [.text(fragment)] }
        pending += fragment
        var pieces: [Piece] = []
        if mode == .start {
            let trimmed = pending.drop(while: { $0 == " " || $0 == "\n" })
            if trimmed.hasPrefix(Self.open) {
                pending = String(trimmed.dropFirst(Self.open.count))
                mode = .thinking
            } else if Self.open.hasPrefix(trimmed) {
                return []  // maybe the start of "<think>": wait for more
            } else {
                mode = .text
                defer { pending = "" }
                return [.text(pending)]
            }
        }
        if let end = pending.firstRange(of: Self.close) {
            let reasoning = String(pending[..<end.lowerBound])
            let rest = String(pending[end.upperBound...].drop(while: { $0 == "\n" }))
            pending = ""
            mode = .text
            if !reasoning.isEmpty { pieces.append(.reasoning(reasoning)) }
            if !rest.isEmpty { pieces.append(.text(rest)) }
            return pieces
        }
        // Hold back a tail that could be the beginning of "</think>".
        var keep = 0
        for length in stride(from: min(Self.close.count - 1, pending.count), to: 0, by: -1)
        where Self.close.hasPrefix(pending.suffix(length)) {
            keep = length
            break
        }
        let emit = String(pending.dropLast(keep))
        pending = String(pending.suffix(keep))
        if !emit.isEmpty { pieces.append(.reasoning(emit)) }
        return pieces
    }

    /// The answer ended: whatever was held back is released as what it was.
    mutating func flush() -> [Piece] {
        defer { pending = "" }
        guard !pending.isEmpty else { return [] }
        switch mode {
        case .thinking: return [.reasoning(pending)]
        case .start, .text: return [.text(pending)]
        }
    }
}
