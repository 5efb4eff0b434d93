/// The Anthropic Messages API types the gateway reads and writes.
public enum Anthropic {
    public enum Role: String, Sendable {
        case user, assistant, system
    }

    /// A `POST /v1/messages` body after validation. Fields the backend cannot use are accepted and dropped.
    public struct MessagesRequest: Sendable, Equatable {
        public var model: String
        public var maxTokens: Int
        /// The top-level `system` texts. `role: "system"` elements stay in `messages`; translation adds their text
        /// after these.
        public var system: [String]
        /// The elements of `messages` after the first `knownMessageCount`.
        public var messages: [Message]
        /// Leading elements of `messages` left undecoded because a `ConversationMemo` knows their translation
        /// (`KnownConversation`); among them is at least one user or assistant message. 0 normally.
        public var knownMessageCount: Int
        public var stopSequences: [String]
        public var stream: Bool
        public var temperature: Double?
        public var topP: Double?
        public var tools: [Tool]
        /// Server tools (`web_search_*`, `computer_*`, …) the backend cannot run: dropped, named for the log.
        public var droppedServerTools: [String]
        public var toolChoice: ToolChoice?
        public var thinking: Thinking?
        /// `output_config.effort`: `low`, `medium`, `high` (and whatever newer levels clients send).
        public var effort: String?
        public var metadataUserID: String?

        public init(
            model: String, maxTokens: Int, system: [String] = [], messages: [Message], stopSequences: [String] = [],
            stream: Bool = false, temperature: Double? = nil, topP: Double? = nil, tools: [Tool] = [],
            droppedServerTools: [String] = [], toolChoice: ToolChoice? = nil, thinking: Thinking? = nil,
            effort: String? = nil, metadataUserID: String? = nil, knownMessageCount: Int = 0
        ) {
            self.model = model
            self.maxTokens = maxTokens
            self.system = system
            self.messages = messages
            self.stopSequences = stopSequences
            self.stream = stream
            self.temperature = temperature
            self.topP = topP
            self.tools = tools
            self.droppedServerTools = droppedServerTools
            self.toolChoice = toolChoice
            self.thinking = thinking
            self.effort = effort
            self.metadataUserID = metadataUserID
            self.knownMessageCount = knownMessageCount
        }
    }

    public struct Message: Sendable, Equatable {
        public var role: Role
        public var content: [ContentBlock]

        public init(role: Role, content: [ContentBlock]) {
            self.role = role
            self.content = content
        }
    }

    public enum ContentBlock: Sendable, Equatable {
        case text(String)
        case image(MediaSource)
        case document(Document)
        case toolUse(id: String, name: String, input: JSONValue)
        case toolResult(ToolResult)
        case thinking(String)
        case redactedThinking
        /// Server-tool and other history blocks the backend has no counterpart for (`server_tool_use`,
        /// `web_search_tool_result`, …): tolerated and dropped.
        case unsupportedHistory(type: String)
    }

    public enum MediaSource: Sendable, Equatable {
        case base64(mediaType: String, data: String)
        case url(String)
    }

    public struct Document: Sendable, Equatable {
        public enum Source: Sendable, Equatable {
            /// A plain-text document: usable by any model as text.
            case text(String)
            /// A binary (PDF) or remote document: needs a model that reads files.
            case media(MediaSource)
        }

        public var source: Source
        public var title: String?
    }

    public struct ToolResult: Sendable, Equatable {
        public var toolUseID: String
        public var content: [ContentBlock]
        public var isError: Bool
    }

    public struct Tool: Sendable, Equatable {
        public var name: String
        public var description: String?
        public var inputSchema: JSONValue
    }

    public enum ToolChoice: Sendable, Equatable {
        case auto(disableParallel: Bool)
        case any(disableParallel: Bool)
        case tool(name: String, disableParallel: Bool)
        case none

        public var disablesParallelToolUse: Bool {
            switch self {
            case .auto(let flag), .any(let flag), .tool(_, let flag): return flag
            case .none: return false
            }
        }
    }

    public enum Thinking: Sendable, Equatable {
        case enabled(budgetTokens: Int?)
        case disabled
        case adaptive
    }

    public enum StopReason: String, Sendable {
        case endTurn = "end_turn"
        case maxTokens = "max_tokens"
        case stopSequence = "stop_sequence"
        case toolUse = "tool_use"
        case refusal
        case pauseTurn = "pause_turn"
    }

    public struct Usage: Sendable, Equatable {
        public var inputTokens: Int
        public var outputTokens: Int
        public var cacheReadInputTokens: Int
        public var cacheCreationInputTokens: Int

        public init(inputTokens: Int, outputTokens: Int, cacheReadInputTokens: Int = 0, cacheCreationInputTokens: Int = 0) {
            self.inputTokens = inputTokens
            self.outputTokens = outputTokens
            self.cacheReadInputTokens = cacheReadInputTokens
            self.cacheCreationInputTokens = cacheCreationInputTokens
        }
    }
}
