import Shared

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The Anthropic event grammar every streaming client depends on, ported from the tests'
/// `Tests/SharedTests/Support/StreamInvariants.swift` (test code cannot be imported here). Keep the two in step.
///
/// Each violation has a kind so that a finding already reported can be silenced while fuzzing goes on:
/// `FUZZ_IGNORE=tool-name,tool-json` (comma-separated kinds).
public enum StreamGrammar {
    public struct Violation: CustomStringConvertible {
        public enum Kind: String, CaseIterable {
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
            /// A tool_use block whose accumulated `input_json_delta`s do not parse as JSON. The translator passes the
            /// upstream's argument text through as is, so this only holds for a well-behaved upstream: checked only
            /// with `FUZZ_STRICT_TOOL_JSON=1`.
            case toolJSON = "tool-json"
        }

        public var kind: Kind
        public var message: String
        public var description: String { "[\(kind.rawValue)] \(message)" }
    }

    /// Kinds silenced through `FUZZ_IGNORE`.
    public static let ignored: Set<String> = {
        guard let raw = getenv("FUZZ_IGNORE") else { return [] }
        return Set(String(cString: raw).split(separator: ",").map { String($0) })
    }()

    public static let strictToolJSON = fuzzFlag("STRICT_TOOL_JSON")

    public static func violations(_ events: [AnthropicEvent]) -> [Violation] {
        var problems: [Violation] = []
        func report(_ kind: Violation.Kind, _ message: String) {
            guard !ignored.contains(kind.rawValue) else { return }
            if kind == .toolJSON, !strictToolJSON { return }
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
                    if id.isEmpty || name.isEmpty {
                        report(.toolName, "tool_use block \(index) without id or name (id \"\(id)\", name \"\(name)\")")
                    }
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
                if current.kind == "thinking", !sawSignature {
                    report(.signature, "thinking block \(index) without signature")
                }
                if current.kind == "tool_use", !toolJSON.isEmpty, (try? JSONParser.parse(toolJSON)) == nil {
                    report(.toolJSON, "tool_use block \(index) input does not parse: \(shown(toolJSON, limit: 200))")
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
        if let open, ended { report(.blocks, "block \(open.index) still open at the end") }
        return problems
    }

    /// Aborts (a libFuzzer crash) when `events` break the grammar.
    public static func require(_ events: [AnthropicEvent], _ context: String, file: StaticString = #fileID,
                               line: UInt = #line) {
        let problems = violations(events)
        guard !problems.isEmpty else { return }
        invariantFailed("\(context): \(problems.map(\.description).joined(separator: "; "))\nevents: \(shown(events, limit: 2000))",
                        file: file, line: line)
    }
}
