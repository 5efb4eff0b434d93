/// Folds the Anthropic event stream into one non-streamed message, so both response modes come from the same
/// translation and can never disagree.
public struct AnthropicMessageFold {
    public enum Outcome: Equatable {
        case message(FoldedMessage)
        case failure(GatewayError)
    }

    /// One content block as it accumulates. The deltas are appended in place (`blocks[last].text += …`): rebuilding
    /// the block's string for every delta made a long answer cost time quadratic in its length.
    private struct Block {
        enum Kind {
            case text
            case thinking
            case toolUse(id: String, name: String)
        }

        let kind: Kind
        /// The text, the thinking, or the tool input's JSON text.
        var text = ""
        var signature = ""
    }

    private var id = ""
    private var model = ""
    private var blocks: [Block] = []
    private var stopReason: Anthropic.StopReason?
    private var stopSequence: String?
    private var usage = Anthropic.Usage(inputTokens: 0, outputTokens: 0)
    public private(set) var outcome: Outcome?

    public init() {}

    public mutating func consume(_ event: AnthropicEvent) {
        switch event {
        case .messageStart(let id, let model, let inputTokens):
            self.id = id
            self.model = model
            usage.inputTokens = inputTokens
        case .ping, .messageStop:
            break
        case .blockStart(_, let start):
            switch start {
            case .text: blocks.append(Block(kind: .text))
            case .thinking: blocks.append(Block(kind: .thinking))
            case .toolUse(let id, let name): blocks.append(Block(kind: .toolUse(id: id, name: name)))
            }
        case .blockDelta(_, let delta):
            guard let last = blocks.indices.last else { preconditionFailure("delta without an open block") }
            switch (blocks[last].kind, delta) {
            case (.text, .text(let more)), (.thinking, .thinking(let more)), (.toolUse, .inputJSON(let more)):
                blocks[last].text += more
            case (.thinking, .signature(let signature)):
                blocks[last].signature = signature
            default:
                preconditionFailure("delta \(delta) does not fit block \(blocks[last].kind)")
            }
        case .blockStop:
            break
        case .messageDelta(let reason, let sequence, let usage):
            stopReason = reason
            stopSequence = sequence
            self.usage = usage
            outcome = buildMessage()
        case .error(let error):
            outcome = .failure(error)
        }
    }

    private func buildMessage() -> Outcome {
        var content: [FoldedMessage.Block] = []
        content.reserveCapacity(blocks.count)
        for block in blocks {
            switch block.kind {
            case .text:
                content.append(.text(block.text))
            case .thinking:
                content.append(.thinking(block.text, signature: block.signature))
            case .toolUse(let id, let name):
                let json = block.text
                let input: JSONValue
                if json.isEmpty {
                    input = .object(JSONObject())
                } else if let parsed = try? JSONParser.parse(json), case .object = parsed {
                    input = parsed
                } else {
                    return .failure(GatewayError(.api, "upstream returned arguments for tool \"\(name)\" that are not a JSON object"))
                }
                content.append(.toolUse(id: id, name: name, input: input))
            }
        }
        return .message(FoldedMessage(id: id, model: model, content: content, stopReason: stopReason,
                                      stopSequence: stopSequence, usage: usage))
    }
}
