/// The system message a request sends upstream: its top-level `system` texts and the texts of its `role: "system"`
/// elements, joined, after the tuning prefix when prompt tuning is on.
///
/// Made once for a system prompt and kept by `SystemPromptMemo` with the texts it was made from, so that a later
/// request with the same prompt takes it as it is when its `role: "system"` texts and tuning are the same too.
public struct SystemPrompt: Sendable, Equatable {
    /// The texts of `role: "system"` elements it was made with, after the top-level ones.
    let messageSystemTexts: [String]
    let promptTuning: Bool
    /// The client's texts joined, without the tuning prefix: what `PromptTuning.isCodeTask` reads.
    let clientText: String
    /// nil when there is no system text at all.
    let message: OpenAI.SystemMessage?

    init(system: [String], messageSystemTexts: [String], promptTuning: Bool) {
        let texts = system + messageSystemTexts
        // One text, the usual case, is taken as it is: no copy.
        let clientText = texts.count == 1 ? texts[0] : texts.joined(separator: "\n\n")
        let text = promptTuning
            ? (clientText.isEmpty ? PromptTuning.systemPrefix : PromptTuning.systemPrefix + "\n\n" + clientText)
            : clientText
        self.messageSystemTexts = messageSystemTexts
        self.promptTuning = promptTuning
        self.clientText = clientText
        message = text.isEmpty ? nil : OpenAI.SystemMessage(text: text)
    }

    /// Whether it is the prompt made from its top-level texts with these `role: "system"` texts and tuning.
    func isMade(messageSystemTexts: [String], promptTuning: Bool) -> Bool {
        self.promptTuning == promptTuning && self.messageSystemTexts == messageSystemTexts
    }
}
