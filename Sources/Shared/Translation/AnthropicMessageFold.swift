/// Folds the Anthropic event stream into one non-streamed message, so both response modes come from the same
/// translation and can never disagree.
public struct AnthropicMessageFold {
    public enum Outcome: Equatable {
        case message(JSONValue)
        case failure(GatewayError)
    }

    private enum Block {
        case text(String)
        case thinking(String, signature: String)
        case toolUse(id: String, name: String, json: String)
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
            case .text: blocks.append(.text(""))
            case .thinking: blocks.append(.thinking("", signature: ""))
            case .toolUse(let id, let name): blocks.append(.toolUse(id: id, name: name, json: ""))
            }
        case .blockDelta(_, let delta):
            guard let last = blocks.popLast() else { preconditionFailure("delta without an open block") }
            switch (last, delta) {
            case (.text(let text), .text(let more)): blocks.append(.text(text + more))
            case (.thinking(let text, let signature), .thinking(let more)):
                blocks.append(.thinking(text + more, signature: signature))
            case (.thinking(let text, _), .signature(let signature)):
                blocks.append(.thinking(text, signature: signature))
            case (.toolUse(let id, let name, let json), .inputJSON(let more)):
                blocks.append(.toolUse(id: id, name: name, json: json + more))
            default:
                preconditionFailure("delta \(delta) does not fit block \(last)")
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
        var content: [JSONValue] = []
        for block in blocks {
            switch block {
            case .text(let text):
                content.append(.object(JSONObject([("type", .string("text")), ("text", .string(text))])))
            case .thinking(let text, let signature):
                content.append(.object(JSONObject([
                    ("type", .string("thinking")), ("thinking", .string(text)), ("signature", .string(signature)),
                ])))
            case .toolUse(let id, let name, let json):
                let input: JSONValue
                if json.isEmpty {
                    input = .object(JSONObject())
                } else if let parsed = try? JSONParser.parse(json), case .object = parsed {
                    input = parsed
                } else {
                    return .failure(GatewayError(.api, "upstream returned arguments for tool \"\(name)\" that are not a JSON object"))
                }
                content.append(.object(JSONObject([
                    ("type", .string("tool_use")), ("id", .string(id)), ("name", .string(name)), ("input", input),
                ])))
            }
        }
        return .message(.object(JSONObject([
            ("id", .string(id)),
            ("type", .string("message")),
            ("role", .string("assistant")),
            ("model", .string(model)),
            ("content", .array(content)),
            ("stop_reason", stopReason.map { .string($0.rawValue) } ?? .null),
            ("stop_sequence", stopSequence.map(JSONValue.string) ?? .null),
            ("usage", .object(JSONObject([
                ("input_tokens", .int(usage.inputTokens)),
                ("output_tokens", .int(usage.outputTokens)),
                ("cache_creation_input_tokens", .int(usage.cacheCreationInputTokens)),
                ("cache_read_input_tokens", .int(usage.cacheReadInputTokens)),
            ]))),
        ])))
    }
}
