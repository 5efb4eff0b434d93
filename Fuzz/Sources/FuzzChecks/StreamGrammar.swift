import Shared

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The fuzz targets' view of `AnthropicEventGrammar` (Shared): the same checker, with findings already reported
/// silenced while fuzzing goes on (`FUZZ_IGNORE=tool-name,tool-json`, comma-separated kinds), and tool-argument
/// JSON checked only with `FUZZ_STRICT_TOOL_JSON=1` (the translator passes upstream argument text through).
public enum StreamGrammar {
    public typealias Violation = AnthropicEventGrammar.Violation

    /// Kinds silenced through `FUZZ_IGNORE`.
    public static let ignored: Set<String> = {
        guard let raw = getenv("FUZZ_IGNORE") else { return [] }
        return Set(String(cString: raw).split(separator: ",").map { String($0) })
    }()

    public static let strictToolJSON = fuzzFlag("STRICT_TOOL_JSON")

    public static func violations(_ events: [AnthropicEvent]) -> [Violation] {
        AnthropicEventGrammar.violations(events).filter { violation in
            !ignored.contains(violation.kind.rawValue) && (violation.kind != .toolJSON || strictToolJSON)
        }
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
