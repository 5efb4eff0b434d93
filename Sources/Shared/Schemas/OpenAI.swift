/// The OpenAI-compatible chat completions types Cerebras speaks.
public enum OpenAI {
    /// A `POST /chat/completions` body. Serialised with a fixed key order so identical requests give identical bytes.
    public struct ChatRequest: Sendable, Equatable {
        public var model: String
        /// The system message, sent first; nil when the request has no system text.
        public var system: SystemMessage?
        /// The messages after the system message, with their JSON text and token estimate.
        public var conversation: MessageList
        public var maxCompletionTokens: Int
        public var stop: [String]
        public var temperature: Double?
        public var topP: Double?
        public var tools: ToolList
        public var toolChoice: ToolChoice?
        public var parallelToolCalls: Bool?
        public var user: String?
        public var reasoningEffort: String?
        public var disableReasoning: Bool?
        public var stream: Bool

        public init(model: String, system: SystemMessage? = nil, conversation: MessageList, maxCompletionTokens: Int) {
            self.model = model
            self.system = system
            self.conversation = conversation
            self.maxCompletionTokens = maxCompletionTokens
            stop = []
            tools = []
            stream = true
        }
    }

    public struct ChatMessage: Sendable, Equatable {
        public enum Role: String, Sendable { case system, user, assistant, tool }

        public var role: Role
        public var content: Content
        public var toolCalls: [ToolCall]
        public var toolCallID: String?

        public init(role: Role, content: Content, toolCalls: [ToolCall] = [], toolCallID: String? = nil) {
            self.role = role
            self.content = content
            self.toolCalls = toolCalls
            self.toolCallID = toolCallID
        }
    }

    public enum Content: Sendable, Equatable {
        case none
        case text(String)
        /// Multimodal parts, only for vision-capable models.
        case parts([ContentPart])
    }

    public enum ContentPart: Sendable, Equatable {
        case text(String)
        case imageURL(String)
    }

    public struct ToolCall: Sendable, Equatable {
        public var id: String
        public var name: String
        /// The arguments as a JSON text, as OpenAI defines them.
        public var arguments: String

        public init(id: String, name: String, arguments: String) {
            self.id = id
            self.name = name
            self.arguments = arguments
        }
    }

    public struct FunctionTool: Sendable, Equatable {
        public var name: String
        public var description: String?
        public var parameters: JSONValue
    }

    public enum ToolChoice: Sendable, Equatable {
        case auto, required, none
        case function(String)
    }

    // MARK: - Responses

    /// Token usage as Cerebras reports it.
    public struct Usage: Sendable, Equatable {
        public var promptTokens: Int
        public var completionTokens: Int
        public var cachedTokens: Int

        public init(promptTokens: Int, completionTokens: Int, cachedTokens: Int = 0) {
            self.promptTokens = promptTokens
            self.completionTokens = completionTokens
            self.cachedTokens = cachedTokens
        }
    }

    /// One `data:` payload of a streamed response.
    public struct StreamChunk: Sendable, Equatable {
        /// The first choice's delta (the gateway never asks for `n > 1`).
        public var delta: Delta?
        public var finishReason: String?
        /// The stop sequence that ended generation, when the server says (vLLM `stop_reason`, SGLang `matched_stop`).
        public var matchedStop: String?
        public var usage: Usage?
        /// A mid-stream error: `{"error":{…},"status_code":N}`.
        public var error: StreamError?

        public init(delta: Delta? = nil, finishReason: String? = nil, matchedStop: String? = nil, usage: Usage? = nil,
                    error: StreamError? = nil) {
            self.delta = delta
            self.finishReason = finishReason
            self.matchedStop = matchedStop
            self.usage = usage
            self.error = error
        }
    }

    public struct Delta: Sendable, Equatable {
        public var content: String?
        public var reasoning: String?
        public var toolCalls: [ToolCallDelta]

        public init(content: String? = nil, reasoning: String? = nil, toolCalls: [ToolCallDelta] = []) {
            self.content = content
            self.reasoning = reasoning
            self.toolCalls = toolCalls
        }
    }

    public struct ToolCallDelta: Sendable, Equatable {
        public var index: Int
        public var id: String?
        public var name: String?
        public var arguments: String?

        public init(index: Int, id: String? = nil, name: String? = nil, arguments: String? = nil) {
            self.index = index
            self.id = id
            self.name = name
            self.arguments = arguments
        }
    }

    public struct StreamError: Sendable, Equatable {
        public var statusCode: Int?
        public var type: String?
        public var code: String?
        public var message: String

        public init(statusCode: Int?, type: String?, code: String?, message: String) {
            self.statusCode = statusCode
            self.type = type
            self.code = code
            self.message = message
        }
    }
}
