import NIOCore

/// A scenario name plus its `key=value` parameters, parsed from `NAME;key=value;key=value`.
///
/// The same syntax is accepted in the `x-fake-scenario` header, in a `[[scenario:…]]` marker in the
/// last message, and in `--default-scenario`.
struct ScenarioSpec: Sendable, Equatable {
    var scenario: Scenario
    var params: [String: String]

    /// Parses `text`; returns nil when the name is not a known scenario.
    init?(parsing text: some StringProtocol) {
        var parts = text.split(separator: ";", omittingEmptySubsequences: true).makeIterator()
        guard let rawName = parts.next(),
            let scenario = Scenario(rawValue: rawName.trimmingSpaces())
        else { return nil }
        var params: [String: String] = [:]
        while let part = parts.next() {
            guard let eq = part.firstIndex(of: "=") else { continue }
            let key = part[..<eq].trimmingSpaces()
            params[key] = part[part.index(after: eq)...].trimmingSpaces()
        }
        self.scenario = scenario
        self.params = params
    }

    init(_ scenario: Scenario, params: [String: String] = [:]) {
        self.scenario = scenario
        self.params = params
    }

    func int(_ key: String) -> Int? {
        params[key].flatMap { Int($0) }
    }

    func double(_ key: String) -> Double? {
        params[key].flatMap { Double($0) }
    }

    /// A millisecond parameter as a `TimeAmount`; fractional values (`0.33`) are kept to the nanosecond.
    func milliseconds(_ key: String) -> TimeAmount? {
        double(key).map { .nanoseconds(Int64(max(0, $0) * 1_000_000)) }
    }
}

/// Every scripted upstream behaviour the fake knows; raw values are the names used on the wire.
enum Scenario: String, CaseIterable, Sendable {
    case text
    case paced
    case toolSplit = "tool_split"
    case toolInterleaved = "tool_interleaved"
    case toolWhole = "tool_whole"
    case textThenTool = "text_then_tool"
    case reasoning
    case length
    case contentFilter = "content_filter"
    case stopSequence = "stop_sequence"
    case usageSeparate = "usage_separate"
    case rateLimited = "rate_limited"
    case serverError = "server_error"
    case overloaded
    case contextLength = "context_length"
    case midstreamError = "midstream_error"
    case drop
    case malformed
    case noDone = "no_done"
    case idle
    case slowFirst = "slow_first"
    case utf8Split = "utf8_split"
    case sseComments = "sse_comments"
    case flaky
    case echo
}

/// Picks the scenario for one request: header first, then a marker in the last message, then the default.
enum ScenarioSelector {
    static let markerOpen = "[[scenario:"

    /// Result of selection: a spec, or the unknown name so the caller can answer 400 with it.
    enum Selection {
        case known(ScenarioSpec)
        case unknown(String)
    }

    static func select(header: String?, lastMessageText: String, fallback: ScenarioSpec) -> Selection {
        if let header, !header.isEmpty {
            return ScenarioSpec(parsing: header).map(Selection.known) ?? .unknown(header)
        }
        if let marker = marker(in: lastMessageText) {
            return ScenarioSpec(parsing: marker).map(Selection.known) ?? .unknown(String(marker))
        }
        return .known(fallback)
    }

    /// The text between `[[scenario:` and the next `]]`, if the message has such a marker.
    static func marker(in text: String) -> Substring? {
        // Byte-level search: cheap, and the marker is ASCII.
        let utf8 = text.utf8
        let open = Array(markerOpen.utf8)
        guard utf8.count >= open.count + 2 else { return nil }
        var i = utf8.startIndex
        while i != utf8.endIndex {
            if utf8[i] == open[0], utf8[i...].starts(with: open) {
                let start = utf8.index(i, offsetBy: open.count)
                var j = start
                while j != utf8.endIndex {
                    let next = utf8.index(after: j)
                    if utf8[j] == UInt8(ascii: "]"), next != utf8.endIndex, utf8[next] == UInt8(ascii: "]") {
                        return text[start..<j]
                    }
                    j = next
                }
                return nil
            }
            i = utf8.index(after: i)
        }
        return nil
    }
}

extension StringProtocol {
    fileprivate func trimmingSpaces() -> String {
        var s = Substring(self)
        while s.first == " " { s.removeFirst() }
        while s.last == " " { s.removeLast() }
        return String(s)
    }
}
