extension OpenAI {
    /// A chat request's system message with its JSON text and token estimate, worked out once, when it is made.
    ///
    /// Agents send the same system prompt with every turn (Claude Code's is about 10 KB), so the message made for one
    /// request is kept by `SystemPromptMemo` and reused as it is by the next: its text is copied into the body instead
    /// of being escaped again, and its tokens are not counted again.
    public struct SystemMessage: Sendable, Equatable {
        public let text: String
        /// The message as the body's `messages` array carries it: `{"role":"system","content":"…"}`.
        public let json: [UInt8]
        /// `TokenEstimator`'s count for the message, its framing included.
        public let estimatedTokens: Int

        public init(text: String) {
            let message = ChatMessage(role: .system, content: .text(text))
            var writer = JSONWriter(capacity: text.utf8.count + 64)
            message.write(to: &writer)
            self.text = text
            json = writer.takeBytes()
            estimatedTokens = TokenEstimator.count(message)
        }

        public static func == (lhs: SystemMessage, rhs: SystemMessage) -> Bool { lhs.text == rhs.text }
    }
}
