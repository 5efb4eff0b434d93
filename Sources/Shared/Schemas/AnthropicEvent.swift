/// One Anthropic streaming event.
public enum AnthropicEvent: Sendable, Equatable {
    public enum BlockStart: Sendable, Equatable {
        case text
        case thinking
        case toolUse(id: String, name: String)
    }

    public enum BlockDelta: Sendable, Equatable {
        case text(String)
        case thinking(String)
        case signature(String)
        case inputJSON(String)
    }

    case messageStart(id: String, model: String, inputTokens: Int)
    case ping
    case blockStart(index: Int, BlockStart)
    case blockDelta(index: Int, BlockDelta)
    case blockStop(index: Int)
    case messageDelta(stopReason: Anthropic.StopReason, stopSequence: String?, usage: Anthropic.Usage)
    case messageStop
    case error(GatewayError)

    /// The SSE `event:` name.
    public var name: String {
        switch self {
        case .messageStart: return "message_start"
        case .ping: return "ping"
        case .blockStart: return "content_block_start"
        case .blockDelta: return "content_block_delta"
        case .blockStop: return "content_block_stop"
        case .messageDelta: return "message_delta"
        case .messageStop: return "message_stop"
        case .error: return "error"
        }
    }
}
