extension OpenAI {
    /// A chat request's messages with their JSON text and token estimate, worked out as each message is added.
    ///
    /// A conversation grows by a turn or two per request while everything before stays as it was, so the list made
    /// for one request is kept by `ConversationMemo` and the next request of the conversation starts from a prefix
    /// of it: that prefix's text is copied into the body instead of being written again, and its tokens are not
    /// counted again.
    public struct MessageList: Sendable, Equatable, RandomAccessCollection, ExpressibleByArrayLiteral {
        public private(set) var messages: [ChatMessage] = []
        /// The messages as the body's `messages` array carries them, without the brackets: `{…},{…}`. Kept in a
        /// writer, which each new message continues.
        private var json = JSONWriter(capacity: 0)
        /// `TokenEstimator`'s count for the messages, their framing included.
        public private(set) var estimatedTokens = 0

        public init() {}

        public init(_ messages: [ChatMessage]) {
            for message in messages { append(message) }
        }

        public init(arrayLiteral messages: ChatMessage...) {
            self.init(messages)
        }

        /// The first messages of a list, to go on from in a list of their own.
        struct Prefix: Sendable {
            let list: MessageList
            let count: Int
            /// Where the first `count` messages' text ends, and their tokens: the figures the list had at `count`.
            let jsonCount: Int
            let estimatedTokens: Int
            /// Room for this many more bytes of text.
            let extraBytes: Int
        }

        /// A list of its own holding `prefix` (the only copy of its text: a list that shared its text with the memo it
        /// came from would copy it again, room and all, at the first message appended).
        init(_ prefix: Prefix) {
            let list = prefix.list
            precondition(prefix.count <= list.messages.count && prefix.jsonCount <= list.jsonByteCount,
                         "a prefix longer than its list")
            messages.reserveCapacity(prefix.count + 4)
            messages.append(contentsOf: list.messages[..<prefix.count])
            json = list.withJSON { text in
                JSONWriter(startingWith: UnsafeRawBufferPointer(rebasing: text[..<prefix.jsonCount]),
                           room: prefix.extraBytes)
            }
            estimatedTokens = prefix.estimatedTokens
        }

        /// The length of the messages' JSON text.
        public var jsonByteCount: Int { json.count }

        /// Calls `body` with the messages' JSON text, without copying it.
        public func withJSON<Result>(_ body: (UnsafeRawBufferPointer) throws -> Result) rethrows -> Result {
            try json.withBytes(body)
        }

        public var startIndex: Int { messages.startIndex }
        public var endIndex: Int { messages.endIndex }
        public subscript(position: Int) -> ChatMessage { messages[position] }

        public static func == (lhs: MessageList, rhs: MessageList) -> Bool { lhs.messages == rhs.messages }

        public mutating func append(_ message: ChatMessage) {
            // Room for the message at once: its texts and some framing (escapes may need more).
            json.reserve(message.textByteCount + 96)
            if !messages.isEmpty { json.raw(",") }
            message.write(to: &json)
            messages.append(message)
            estimatedTokens += TokenEstimator.count(message)
        }
    }
}

extension OpenAI.ChatMessage {
    /// The bytes of its texts, tool call arguments included.
    var textByteCount: Int {
        var bytes = 0
        switch content {
        case .none: break
        case .text(let text): bytes += text.utf8.count
        case .parts(let parts):
            for part in parts {
                switch part {
                case .text(let text), .imageURL(let text): bytes += text.utf8.count + 32
                }
            }
        }
        for call in toolCalls { bytes += call.arguments.utf8.count + call.id.utf8.count + call.name.utf8.count + 64 }
        return bytes
    }
}
