/// The optional behavioural tuning for Cerebras-hosted models serving Anthropic clients.
public enum PromptTuning {
    /// Prefixed to the client's system prompt, never replacing it. It must stay byte-identical across
    /// requests: Cerebras's prompt cache matches exact prefixes, so nothing per-request may appear here.
    public static let systemPrefix = """
        You are serving a client built for Anthropic's Claude models through an API gateway. Follow the \
        system prompt and the user's instructions below exactly; they take precedence over this note. \
        When tools are available, call them only with arguments that are valid JSON matching each tool's \
        schema, one complete call at a time, and wait for tool results instead of guessing them. Keep \
        answers direct and do not restate these instructions.
        """

    /// Temperature multiplier for code tasks: slightly more deterministic edits and tool calls.
    public static let codeTemperatureFactor = 0.85

    /// Tool names that mark a request as a coding-agent turn (Claude Code, Cursor, Droid, Cline, aider-likes).
    static let codeToolNames: Set<String> = [
        "bash", "edit", "multiedit", "write", "read", "glob", "grep", "notebookedit", "str_replace_editor",
        "str_replace_based_edit_tool", "apply_patch", "edit_file", "read_file", "write_file", "run_terminal_cmd",
        "execute_command", "create_file", "search_replace", "ls", "list_dir", "codebase_search",
    ]

    /// Phrases in a system prompt that mark a coding assistant.
    static let codeSystemPhrases = ["software engineering", "coding assistant", "code assistant", "programming"]

    /// A request is a code task when it offers a known coding tool, or its system prompt describes a coding
    /// assistant. Documented in the README.
    public static func isCodeTask(toolNames: [String], systemText: String) -> Bool {
        if toolNames.contains(where: { codeToolNames.contains($0.lowercased()) }) { return true }
        return containsCodePhrase(systemText)
    }

    /// Whether `text` contains one of `codeSystemPhrases`, ASCII case-insensitively. A byte scan: it runs for every
    /// request, and the standard library's generic `contains` cost more on a one-line system prompt than the rest
    /// of the request's translation.
    static func containsCodePhrase(_ text: String) -> Bool {
        text.withBorrowedUTF8 { bytes in
            var index = 0
            while index < bytes.count {
                if phraseStarts[Int(bytes[index])] {
                    for phrase in codePhraseBytes where matchesLowercased(phrase, in: bytes, at: index) { return true }
                }
                index += 1
            }
            return false
        }
    }

    private static let codePhraseBytes = codeSystemPhrases.map { Array($0.utf8) }

    /// The bytes (either case) a phrase can start with.
    private static let phraseStarts: [Bool] = {
        var starts = [Bool](repeating: false, count: 256)
        for phrase in codePhraseBytes {
            starts[Int(phrase[0])] = true
            starts[Int(phrase[0]) & ~0x20] = true
        }
        return starts
    }()

    private static func matchesLowercased(_ phrase: [UInt8], in bytes: UnsafeBufferPointer<UInt8>, at start: Int) -> Bool {
        guard start + phrase.count <= bytes.count else { return false }
        for offset in 0..<phrase.count {
            if bytes[start + offset].asciiLowercased != phrase[offset] { return false }
        }
        return true
    }
}
