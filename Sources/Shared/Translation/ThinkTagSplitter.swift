/// Splits Qwen-style `<think>…</think>` reasoning out of the content stream.
///
/// Some models put their reasoning inside `content`, wrapped in think tags, at the very start of the answer.
/// Only a leading `<think>` counts (later occurrences are ordinary text), and the tags may be split across chunks:
/// a possible partial tag is held back until the next fragment decides it.
///
/// The tags are matched as UTF-8 bytes. A fragment that cannot hold any part of a tag (no `<`, nothing held back)
/// can be passed on as the string it came as (`passesAsReasoning`): a thinking model's reasoning arrives a token a
/// chunk, at up to thousands of chunks a second, and each such chunk costs a search for one byte. Matching by
/// `Character`, as this type did before, cost every request about 1,800 instructions more for its answer's first
/// fragment, and each reasoning chunk about 21,000 more (BENCHMARKS.md, "Thirty-eighth round"). The two differ only
/// for a tag whose `>` a combining mark follows, which a `Character` match does not see as a tag.
struct ThinkTagSplitter {
    enum Piece: Equatable {
        case reasoning(String)
        case text(String)
    }

    private enum Mode { case start, thinking, text }

    private static let open = Array("<think>".utf8)
    private static let close = Array("</think>".utf8)
    private var mode = Mode.start
    /// Content held back: in `.start`, what may still turn out to open with `<think>`; in `.thinking`, a tail that may
    /// be the start of `</think>`. Only ever split where a tag's ASCII bytes begin or end, so always whole UTF-8.
    private var pending: [UInt8] = []

    /// True once the answer is past any leading think block: content is plain text from here on.
    var passesThrough: Bool { mode == .text }

    /// True when `fragment` is reasoning as it stands: inside the think block, nothing held back, and no `<` in it
    /// that could begin `</think>`. The caller can then emit it without `split`, which would only hand it back in an
    /// array made for the purpose (a reasoning chunk's one allocation here).
    func passesAsReasoning(_ fragment: String) -> Bool {
        mode == .thinking && pending.isEmpty && !fragment.withBorrowedUTF8 { $0.contains(UInt8(ascii: "<")) }
    }

    /// Pieces ready to emit for this content fragment, in order.
    mutating func split(_ fragment: String) -> [Piece] {
        switch mode {
        case .text:
            return fragment.isEmpty ? [] : [.text(fragment)]
        case .start:
            return fragment.withBorrowedUTF8 { splitAtStart($0, fragment: fragment) }
        case .thinking:
            // A fragment that `passesAsReasoning` comes out whole here too; the stream translator asks that first.
            fragment.withBorrowedUTF8 { pending.append(contentsOf: $0) }
            return splitThinking()
        }
    }

    /// The answer ended: whatever was held back is released as what it was.
    mutating func flush() -> [Piece] {
        defer { pending = [] }
        guard !pending.isEmpty else { return [] }
        let held = Self.string(pending[...])
        switch mode {
        case .thinking: return [.reasoning(held)]
        case .start, .text: return [.text(held)]
        }
    }

    /// Before anything but spaces and newlines has decided whether the answer opens with `<think>`.
    private mutating func splitAtStart(_ bytes: UnsafeBufferPointer<UInt8>, fragment: String) -> [Piece] {
        if pending.isEmpty, let first = bytes.firstIndex(where: { !Self.isLeadingBlank($0) }),
           bytes[first] != Self.open[0] {
            // The common case: an answer that starts with anything but `<`, passed on as it came.
            mode = .text
            return [.text(fragment)]
        }
        pending.append(contentsOf: bytes)
        let start = pending.firstIndex(where: { !Self.isLeadingBlank($0) }) ?? pending.endIndex
        let rest = pending[start...]
        if rest.starts(with: Self.open) {
            pending.removeSubrange(..<(start + Self.open.count))
            mode = .thinking
            return splitThinking()
        }
        if Self.open.starts(with: rest) {
            return []  // maybe the start of "<think>": wait for more
        }
        mode = .text
        defer { pending = [] }
        return [.text(Self.string(pending[...]))]
    }

    /// Inside the think block, with `pending` holding everything not yet emitted.
    private mutating func splitThinking() -> [Piece] {
        if let end = Self.firstRange(of: Self.close, in: pending) {
            var textStart = end.upperBound
            while textStart < pending.endIndex, pending[textStart] == UInt8(ascii: "\n") { textStart += 1 }
            var pieces: [Piece] = []
            if end.lowerBound > 0 { pieces.append(.reasoning(Self.string(pending[..<end.lowerBound]))) }
            if textStart < pending.endIndex { pieces.append(.text(Self.string(pending[textStart...]))) }
            pending = []
            mode = .text
            return pieces
        }
        // Hold back the longest tail that could be the beginning of "</think>".
        var keep = 0
        for length in stride(from: min(Self.close.count - 1, pending.count), to: 0, by: -1)
        where Self.close.starts(with: pending[(pending.count - length)...]) {
            keep = length
            break
        }
        let emitted = pending.count - keep
        guard emitted > 0 else { return [] }
        let reasoning = Self.string(pending[..<emitted])
        pending.removeSubrange(..<emitted)
        return [.reasoning(reasoning)]
    }

    private static func isLeadingBlank(_ byte: UInt8) -> Bool {
        byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\n")
    }

    private static func firstRange(of needle: [UInt8], in haystack: [UInt8]) -> Range<Int>? {
        guard haystack.count >= needle.count else { return nil }
        var index = 0
        while let candidate = haystack[index...].firstIndex(of: needle[0]),
              candidate + needle.count <= haystack.count {
            if haystack[candidate...].starts(with: needle) { return candidate..<candidate + needle.count }
            index = candidate + 1
        }
        return nil
    }

    private static func string(_ bytes: ArraySlice<UInt8>) -> String {
        String(decoding: bytes, as: UTF8.self)
    }
}
