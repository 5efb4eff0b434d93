extension OpenAI {
    /// A chat request's messages with their JSON text and token estimate, worked out as each message is added.
    ///
    /// A conversation grows by a turn or two per request while everything before stays as it was, so the list made
    /// for one request is kept by `ConversationMemo` and the next request of the conversation starts from a prefix
    /// of it: that prefix's text is copied into the body instead of being written again, and its tokens are not
    /// counted again.
    public struct MessageList: Sendable, Equatable, RandomAccessCollection, ExpressibleByArrayLiteral {
        public private(set) var messages: [ChatMessage] = []
        /// The messages as the body's `messages` array carries them, without the brackets: `{…},{…}`.
        public private(set) var json: [UInt8] = []
        /// `TokenEstimator`'s count for the messages, their framing included.
        public private(set) var estimatedTokens = 0

        public init() {}

        public init(_ messages: [ChatMessage]) {
            for message in messages { append(message) }
        }

        public init(arrayLiteral messages: ChatMessage...) {
            self.init(messages)
        }

        /// The first `count` messages of `list`, whose text ends at `jsonCount` and whose tokens are
        /// `estimatedTokens` (figures noted when the list had that many messages), with room for `extraBytes` more.
        init(prefixOf list: MessageList, count: Int, jsonCount: Int, estimatedTokens: Int, extraBytes: Int) {
            precondition(count <= list.messages.count && jsonCount <= list.json.count, "a prefix longer than its list")
            messages.reserveCapacity(count + 4)
            messages.append(contentsOf: list.messages[..<count])
            json.reserveCapacity(jsonCount + extraBytes)
            json.append(contentsOf: list.json[..<jsonCount])
            self.estimatedTokens = estimatedTokens
        }

        public var startIndex: Int { messages.startIndex }
        public var endIndex: Int { messages.endIndex }
        public subscript(position: Int) -> ChatMessage { messages[position] }

        public static func == (lhs: MessageList, rhs: MessageList) -> Bool { lhs.messages == rhs.messages }

        public mutating func append(_ message: ChatMessage) {
            var writer = JSONWriter(capacity: 0)
            swap(&writer.bytes, &json)
            if !messages.isEmpty { writer.raw(",") }
            message.write(to: &writer)
            swap(&writer.bytes, &json)
            messages.append(message)
            estimatedTokens += TokenEstimator.count(message)
        }

        /// Room for `bytes` more of text, so that a long conversation's text is not copied at each doubling.
        public mutating func reserveCapacity(bytes: Int) {
            json.reserveCapacity(json.count + bytes)
        }
    }
}
