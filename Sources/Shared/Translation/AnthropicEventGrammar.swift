/// The Anthropic event grammar every streaming client depends on, as a checker: the golden tests and the fuzz
/// targets hold every translated stream to it.
///
/// `message_start` first; blocks with contiguous indexes, one open at a time, opened before their deltas and
/// stopped before the next; deltas of their block's type; thinking blocks signed; tool_use blocks with an id and
/// a name; the end is `message_delta` + `message_stop`, or an `error` after the open block was closed.
public enum AnthropicEventGrammar {
    public struct Violation: Equatable, Sendable, CustomStringConvertible {
        public enum Kind: String, CaseIterable, Sendable {
            /// message_start missing/duplicated, events after the end, no proper end.
            case framing
            /// Block indexes not contiguous, two blocks open, delta/stop outside its block.
            case blocks
            /// A delta whose type does not match its block, an empty text_delta.
            case delta
            /// A thinking block without its signature, or thinking after the signature.
            case signature
            /// A tool_use block with an empty id or name.
            case toolName = "tool-name"
            /// A tool_use block whose `input_json_delta`s do not concatenate to JSON. The translator passes the
            /// upstream's argument text through, so this holds only for a well-behaved upstream.
            case toolJSON = "tool-json"
        }

        public var kind: Kind
        public var message: String
        public var description: String { "[\(kind.rawValue)] \(message)" }
    }

    public static func violations(_ events: [AnthropicEvent]) -> [Violation] {
        var problems: [Violation] = []
        func report(_ kind: Violation.Kind, _ message: String) {
            problems.append(Violation(kind: kind, message: message))
        }
        guard case .messageStart? = events.first else {
            report(.framing, "first event is not message_start")
            return problems
        }
        var open: (index: Int, kind: String)?
        var nextIndex = 0
        var sawSignature = false
        var toolJSON = ""
        var ended = false
        for (position, event) in events.enumerated().dropFirst() {
            if ended { report(.framing, "event \(position) (\(event.name)) after the end") }
            switch event {
            case .messageStart:
                report(.framing, "second message_start at \(position)")
            case .ping:
                break
            case .blockStart(let index, let start):
                if let open { report(.blocks, "block \(index) starts while \(open.index) is open") }
                if index != nextIndex { report(.blocks, "block index \(index), expected \(nextIndex)") }
                nextIndex = index + 1
                switch start {
                case .text: open = (index, "text")
                case .thinking: open = (index, "thinking")
                case .toolUse(let id, let name):
                    open = (index, "tool_use")
                    if id.isEmpty || name.isEmpty { report(.toolName, "tool_use block \(index) without id or name") }
                }
                sawSignature = false
                toolJSON = ""
            case .blockDelta(let index, let delta):
                guard let current = open, current.index == index else {
                    report(.blocks, "delta for block \(index) which is not open")
                    continue
                }
                switch (current.kind, delta) {
                case ("text", .text(let text)):
                    if text.isEmpty { report(.delta, "empty text_delta in block \(index)") }
                case ("thinking", .thinking):
                    if sawSignature { report(.signature, "thinking_delta after signature in block \(index)") }
                case ("thinking", .signature): sawSignature = true
                case ("tool_use", .inputJSON(let json)): toolJSON += json
                default: report(.delta, "delta \(delta) inside a \(current.kind) block")
                }
            case .blockStop(let index):
                guard let current = open, current.index == index else {
                    report(.blocks, "stop for block \(index) which is not open")
                    continue
                }
                if current.kind == "thinking", !sawSignature { report(.signature, "thinking block \(index) without signature") }
                if current.kind == "tool_use", !toolJSON.isEmpty, (try? JSONParser.parse(toolJSON)) == nil {
                    report(.toolJSON, "tool_use block \(index) input does not parse: \(toolJSON.prefix(200))")
                }
                open = nil
            case .messageDelta:
                if let open { report(.blocks, "message_delta while block \(open.index) is open") }
                guard case .messageStop? = events.dropFirst(position + 1).first else {
                    report(.framing, "message_delta not followed by message_stop")
                    continue
                }
            case .messageStop:
                guard position > 0, case .messageDelta = events[position - 1] else {
                    report(.framing, "message_stop without message_delta before it")
                    continue
                }
                ended = true
            case .error:
                if let open { report(.blocks, "error event while block \(open.index) is open") }
                ended = true
            }
        }
        if !ended { report(.framing, "stream neither completes nor ends with an error") }
        return problems
    }
}
