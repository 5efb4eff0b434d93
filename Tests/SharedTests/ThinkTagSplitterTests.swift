@testable import Shared
import TestSupport
import Testing

@Suite("Think tag splitter")
struct ThinkTagSplitterTests {
    /// The splitter as it was written before it matched bytes: by `Character`, concatenating every fragment.
    private struct CharacterSplitter {
        enum Mode { case start, thinking, text }
        var mode = Mode.start
        var pending = ""

        mutating func split(_ fragment: String) -> [ThinkTagSplitter.Piece] {
            if mode == .text { return fragment.isEmpty ? [] : [.text(fragment)] }
            pending += fragment
            var pieces: [ThinkTagSplitter.Piece] = []
            if mode == .start {
                let trimmed = pending.drop(while: { $0 == " " || $0 == "\n" })
                if trimmed.hasPrefix("<think>") {
                    pending = String(trimmed.dropFirst("<think>".count))
                    mode = .thinking
                } else if "<think>".hasPrefix(trimmed) {
                    return []
                } else {
                    mode = .text
                    defer { pending = "" }
                    return [.text(pending)]
                }
            }
            if let end = pending.firstRange(of: "</think>") {
                let reasoning = String(pending[..<end.lowerBound])
                let rest = String(pending[end.upperBound...].drop(while: { $0 == "\n" }))
                pending = ""
                mode = .text
                if !reasoning.isEmpty { pieces.append(.reasoning(reasoning)) }
                if !rest.isEmpty { pieces.append(.text(rest)) }
                return pieces
            }
            var keep = 0
            for length in stride(from: min("</think>".count - 1, pending.count), to: 0, by: -1)
            where "</think>".hasPrefix(pending.suffix(length)) {
                keep = length
                break
            }
            let emit = String(pending.dropLast(keep))
            pending = String(pending.suffix(keep))
            if !emit.isEmpty { pieces.append(.reasoning(emit)) }
            return pieces
        }

        mutating func flush() -> [ThinkTagSplitter.Piece] {
            defer { pending = "" }
            guard !pending.isEmpty else { return [] }
            return mode == .thinking ? [.reasoning(pending)] : [.text(pending)]
        }
    }

    private func pieces(_ fragments: [String]) -> [[ThinkTagSplitter.Piece]] {
        var splitter = ThinkTagSplitter()
        return fragments.map { splitter.split($0) } + [splitter.flush()]
    }

    @Test("splits as the Character splitter did, fragment by fragment, for random answers cut anywhere")
    func agreesWithCharacterSplitter() {
        var random = SplitMix64(seed: 0x7417)
        let words = ["<think>", "</think>", "<", "</", "<th", "ink>", "</th", "think", ">", " ", "\n", "\n\n", "a",
                     "reason.", "é", "中文", "🎉", "\r\n", "<thinker>", "</thinking>", "x<think>"]
        for _ in 0..<3_000 {
            var text = ""
            // Usually lead with a tag or blanks before one, so that the think block and its end are exercised.
            let leads = ["<think>", " <think>", "\n<think>", " \n <thi"]
            if random.next() % 4 != 0 { text += leads[Int(random.next() % 4)] }
            for _ in 0..<Int(random.next() % 12) { text += words[Int(random.next() % UInt64(words.count))] }
            let characters = Array(text)
            var fragments: [String] = []
            var index = 0
            while index < characters.count {
                let length = Int(random.next() % 6) + 1
                fragments.append(String(characters[index..<min(index + length, characters.count)]))
                index += length
            }
            var reference = CharacterSplitter()
            let expected = fragments.map { reference.split($0) } + [reference.flush()]
            #expect(pieces(fragments) == expected, "\(fragments)")
        }
    }

    @Test("a leading think block split across fragments, its text after the newlines that follow it")
    func splitTags() {
        #expect(pieces(["<thi", "nk>Let me ", "reason.</th", "ink>\n\nThe answer", " is 4."]) == [
            [], [.reasoning("Let me ")], [.reasoning("reason.")], [.text("The answer")], [.text(" is 4.")], [],
        ])
        #expect(pieces(["<think>all at once</think>done"]) == [[.reasoning("all at once"), .text("done")], []])
        #expect(pieces([" \n", "<think>", "a</thi"]) == [[], [], [.reasoning("a")], [.reasoning("</thi")]])
    }

    @Test("only a leading <think> opens a block; an answer starting with anything else passes through")
    func laterTagsAreText() {
        #expect(pieces(["Hello <think>", "</think>"]) == [[.text("Hello <think>")], [.text("</think>")], []])
        #expect(pieces(["<b>bold</b>"]) == [[.text("<b>bold</b>")], []])
        #expect(pieces([" <", "p>"]) == [[], [.text(" <p>")], []])
        #expect(pieces(["  "]) == [[], [.text("  ")]])
    }

    @Test("a fragment passes as reasoning only inside the block, with nothing held back and no < in it")
    func passesAsReasoning() {
        var splitter = ThinkTagSplitter()
        #expect(!splitter.passesAsReasoning("plain"))
        _ = splitter.split("<think>")
        #expect(splitter.passesAsReasoning("plain"))
        #expect(!splitter.passesAsReasoning("a < b"))
        #expect(splitter.split("x</th") == [.reasoning("x")])
        #expect(!splitter.passesAsReasoning("plain"))
        #expect(splitter.split("ink>after") == [.text("after")])
        #expect(!splitter.passesAsReasoning("plain"))
    }

    @Test("tags are matched as bytes: a combining mark after a tag's > leaves it a tag")
    func combiningMarkAfterTag() {
        #expect(pieces(["<think>\u{301}x</think>\u{301}y"]) == [[.reasoning("\u{301}x"), .text("\u{301}y")], []])
    }
}
