import Shared

/// Checks the Anthropic event grammar every client depends on; returns the violations (empty when valid).
enum StreamInvariants {
    static func violations(_ events: [AnthropicEvent]) -> [String] {
        var problems: [String] = []
        guard case .messageStart? = events.first else { return ["first event is not message_start"] }
        var open: (index: Int, kind: String)?
        var nextIndex = 0
        var sawSignature = false
        var toolJSON = ""
        var ended = false
        for (position, event) in events.enumerated().dropFirst() {
            if ended { problems.append("event \(position) (\(event.name)) after the end") }
            switch event {
            case .messageStart:
                problems.append("second message_start at \(position)")
            case .ping:
                break
            case .blockStart(let index, let start):
                if let open { problems.append("block \(index) starts while \(open.index) is open") }
                if index != nextIndex { problems.append("block index \(index), expected \(nextIndex)") }
                nextIndex = index + 1
                switch start {
                case .text: open = (index, "text")
                case .thinking: open = (index, "thinking")
                case .toolUse(let id, let name):
                    open = (index, "tool_use")
                    if id.isEmpty || name.isEmpty { problems.append("tool_use block \(index) without id or name") }
                }
                sawSignature = false
                toolJSON = ""
            case .blockDelta(let index, let delta):
                guard let current = open, current.index == index else {
                    problems.append("delta for block \(index) which is not open")
                    continue
                }
                switch (current.kind, delta) {
                case ("text", .text(let text)):
                    if text.isEmpty { problems.append("empty text_delta in block \(index)") }
                case ("thinking", .thinking):
                    if sawSignature { problems.append("thinking_delta after signature in block \(index)") }
                case ("thinking", .signature): sawSignature = true
                case ("tool_use", .inputJSON(let json)): toolJSON += json
                default: problems.append("delta \(delta) inside a \(current.kind) block")
                }
            case .blockStop(let index):
                guard let current = open, current.index == index else {
                    problems.append("stop for block \(index) which is not open")
                    continue
                }
                if current.kind == "thinking", !sawSignature { problems.append("thinking block \(index) without signature") }
                if current.kind == "tool_use", !toolJSON.isEmpty, (try? JSONParser.parse(toolJSON)) == nil {
                    problems.append("tool_use block \(index) input does not parse: \(toolJSON)")
                }
                open = nil
            case .messageDelta:
                if let open { problems.append("message_delta while block \(open.index) is open") }
                guard case .messageStop? = events.dropFirst(position + 1).first else {
                    problems.append("message_delta not followed by message_stop")
                    continue
                }
            case .messageStop:
                guard position > 0, case .messageDelta = events[position - 1] else {
                    problems.append("message_stop without message_delta before it")
                    continue
                }
                ended = true
            case .error:
                if let open { problems.append("error event while block \(open.index) is open") }
                ended = true
            }
        }
        if !ended { problems.append("stream neither completes nor ends with an error") }
        return problems
    }
}
