/// Where the translation of a request's `messages` stood after one of its elements: what a later request whose
/// `messages` start with the same elements can start from instead (`ConversationMemo`).
public struct ConversationCheckpoint: Sendable, Equatable {
    /// Elements of `messages` translated, `role: "system"` ones included.
    public var elements: Int
    /// The upstream messages made of them, and where the list's text and tokens stood.
    var messageCount: Int
    var jsonCount: Int
    var estimatedTokens: Int
    /// Calls of the latest assistant turn that no tool message has answered yet, in call order.
    var openCalls: [String]
    /// System texts taken from `role: "system"` elements so far.
    var systemTextCount: Int
    /// Set once an image or document has been translated: how it was, which a later request must share to start
    /// from here.
    var media: MediaTranslation?
}

/// What an image or document translates to besides its content: a vision model sees images, other models get the
/// placeholder text or refuse them.
public struct MediaTranslation: Sendable, Equatable {
    var supportsVision: Bool
    var placeholder: String?

    init(profile: ModelProfile, options: TranslationOptions) {
        supportsVision = profile.supportsVision
        placeholder = options.unsupportedMediaPlaceholder
    }
}

/// The translation of the first elements of a request's `messages`, as a `ConversationMemo` kept it.
public struct KnownConversation: Sendable {
    /// Elements of `messages` it covers; the request's own decoded messages are the ones after these.
    public var elements: Int
    /// The translated messages it covers, made into a list of their own by the converter that goes on from them.
    var messages: OpenAI.MessageList.Prefix
    var systemTexts: [String]
    var openCalls: [String]
    /// How the covered images and documents were translated; nil when there are none.
    var media: MediaTranslation?
    /// Where the covered elements end in the client's bytes, with the translation after each (those a memo kept).
    var marks: [ConversationMemo.Mark]
}
