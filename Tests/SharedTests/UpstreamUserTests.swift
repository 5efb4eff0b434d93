@testable import Shared
import TestSupport
import Testing

@Suite("metadata.user_id as the upstream's user")
struct UpstreamUserTests {
    private func cut(_ userID: String) -> String { AnthropicToOpenAI.upstreamUser(userID) }

    @Test("is the first 64 characters, as a Character prefix takes them, whatever the text")
    func agreesWithCharacterPrefix() {
        let ascii = "user_0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef_account__session_5f0c"
        var cases = [
            "", "user_1", String(repeating: "a", count: 64), String(repeating: "a", count: 65), ascii,
            // A CR LF across the 64th and 65th bytes is one character: the cut keeps both.
            String(repeating: "a", count: 63) + "\r\n" + "tail",
            String(repeating: "a", count: 62) + "\r\n" + "tail", String(repeating: "a", count: 63) + "\r" + "tail",
            // A combining mark after the 64th byte belongs to the 64th character.
            String(repeating: "a", count: 64) + "\u{301}tail", String(repeating: "é", count: 40),
            String(repeating: "🎉", count: 70), "中" + String(repeating: "b", count: 80),
        ]
        var random = SplitMix64(seed: 0x05E7)
        let alphabet: [String] = ["a", "_", "-", "\r", "\n", "\r\n", "é", "e\u{301}", "中", "🇫🇷", "\u{301}"]
        for _ in 0..<2_000 {
            cases.append((0..<Int(random.next() % 90)).map { _ in alphabet[Int(random.next() % 11)] }.joined())
        }
        for userID in cases {
            #expect(cut(userID) == String(userID.prefix(64)), "\(Array(userID.utf8))")
        }
        #expect(cut(ascii) == String(ascii.utf8.prefix(64))!)
        #expect(cut(String(repeating: "a", count: 63) + "\r\ntail").utf8.count == 65)
    }
}
