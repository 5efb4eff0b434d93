import TestSupport
import Testing

@testable import Shared

@Suite("Prompt tuning: what counts as a code task")
struct PromptTuningTests {
    @Test("a known coding tool, in any case, makes a code task")
    func codingTools() {
        #expect(PromptTuning.isCodeTask(toolNames: ["get_weather", "Bash"], systemText: ""))
        #expect(PromptTuning.isCodeTask(toolNames: ["STR_REPLACE_BASED_EDIT_TOOL"], systemText: ""))
        #expect(!PromptTuning.isCodeTask(toolNames: ["get_weather"], systemText: "You are a helpful assistant."))
    }

    @Test("a coding phrase anywhere in the system prompt, in any case, makes a code task")
    func systemPhrases() {
        for text in ["software engineering", "You help with Software Engineering tasks.", "a CODING ASSISTANT",
                     "Über-helpful code assistant ✨", "end: programming"] {
            #expect(PromptTuning.isCodeTask(toolNames: [], systemText: text), "\(text)")
        }
        for text in ["", "programmin", "software  engineering", "codingassistant", "assistant for coding", "é"] {
            #expect(!PromptTuning.isCodeTask(toolNames: [], systemText: text), "\(text)")
        }
    }

    @Test("the byte scan agrees with lowercasing and searching, on generated texts")
    func agreesWithTheObviousRule() {
        let pieces = ["Software", " engineering", "CODING", " assistant", "code", " Assistant", "program", "ming",
                      "PROGRAMMING", "x", " ", "é", "ß", "\n", "coding  assistant"]
        var generator = SplitMix64(seed: 7)
        for _ in 0..<2_000 {
            let text = (0..<Int(generator.next() % 8)).map { _ in pieces[Int(generator.next() % UInt64(pieces.count))] }
                .joined()
            let lowered = text.lowercased()
            let expected = PromptTuning.codeSystemPhrases.contains { lowered.contains($0) }
            #expect(PromptTuning.containsCodePhrase(text) == expected, "\(text)")
        }
    }
}
