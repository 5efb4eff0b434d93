#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import NIOConcurrencyHelpers

/// What recent requests' values of one top-level member (`tools`, `system`) decoded and translated to, found again by
/// the exact bytes of the value.
///
/// A body whose member bytes equal a remembered value's skips parsing, checking and translating it again
/// (`TranslationMemos`): the parser recognises the bytes and steps over them. What is remembered is a pure function
/// of those bytes, or is kept with whatever else it was made from (`SystemPrompt`), so a reused value is exactly what
/// the request would have made. Least recently used values are dropped first.
public final class MemberMemo<Value: Sendable>: Sendable {
    /// One remembered value.
    struct Entry: Sendable {
        /// The member's value as the client sent it.
        let bytes: [UInt8]
        let value: Value
    }

    /// How many values are kept; 0 keeps none.
    public let capacity: Int
    /// Shorter values are decoded each time: cheap enough, and not worth a slot.
    let minimumBytes: Int
    /// Longer values are not kept, which bounds what a memo holds.
    let maximumBytes: Int
    /// Most recently used first.
    private let entries: NIOLockedValueBox<[Entry]>
    private let lookups = MemoLookupCounter()

    init(capacity: Int, minimumBytes: Int, maximumBytes: Int) {
        self.capacity = capacity
        self.minimumBytes = max(1, minimumBytes)
        self.maximumBytes = maximumBytes
        entries = NIOLockedValueBox([])
    }

    public var count: Int { entries.withLockedValue { $0.count } }

    /// Lookups since the memo was made, by whether the value was known.
    public var lookupCounts: MemoLookups { lookups.current }

    func countLookup(known: Bool) {
        lookups.count(known: known)
    }

    /// The remembered value whose bytes `bytes` starts with, made the most recently used.
    func entry(startingAt bytes: UnsafeBufferPointer<UInt8>) -> Entry? {
        guard capacity > 0, bytes.count >= minimumBytes, let base = bytes.baseAddress else { return nil }
        return entries.withLockedValue { entries in
            for index in entries.indices {
                let known = entries[index].bytes
                guard known.count <= bytes.count,
                    known.withUnsafeBytes({ $0.baseAddress.map { memcmp($0, base, known.count) == 0 } ?? false })
                else { continue }
                let entry = entries[index]
                if index > 0 {
                    entries.remove(at: index)
                    entries.insert(entry, at: 0)
                }
                return entry
            }
            return nil
        }
    }

    /// Whether a value of `bytes` is kept by `remember`.
    func keeps(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        capacity > 0 && bytes.count >= minimumBytes && bytes.count <= maximumBytes
    }

    /// Keeps `value` as what `bytes` make, in place of what was kept for them, unless they are too small or too large
    /// to be worth it.
    func remember(bytes: UnsafeBufferPointer<UInt8>, value: Value) {
        guard keeps(bytes) else { return }
        let entry = Entry(bytes: Array(bytes), value: value)
        entries.withLockedValue { entries in
            // Two event loops may both have missed the same value; keep one copy.
            if let index = entries.firstIndex(where: { $0.bytes == entry.bytes }) { entries.remove(at: index) }
            entries.insert(entry, at: 0)
            if entries.count > capacity { entries.removeLast(entries.count - capacity) }
        }
    }
}

/// A `tools` member decoded, validated and translated.
public struct KnownToolList: Sendable {
    let tools: [Anthropic.Tool]
    let droppedServerTools: [String]
    let upstream: OpenAI.ToolList
}

/// The tool lists of recent requests.
///
/// Claude Code sends the same 30 KB of tool definitions with every turn, and parsing, checking, sanitising, counting
/// and writing them again is more than half of what translating its request costs.
public typealias ToolListMemo = MemberMemo<KnownToolList>

extension MemberMemo where Value == KnownToolList {
    public static var defaultMinimumBytes: Int { 256 }
    /// A kept list costs about 6 times its bytes (measured with Claude Code's), so a memo holds at most about
    /// `capacity` × 6 × this.
    public static var maximumBytes: Int { 256 * 1024 }

    /// - Parameter minimumBytes: lower only in tests, to put small lists through the memo.
    public convenience init(capacity: Int, minimumBytes: Int = defaultMinimumBytes) {
        self.init(capacity: capacity, minimumBytes: minimumBytes, maximumBytes: Self.maximumBytes)
    }
}

/// A `system` member decoded, with the system messages made from it.
public struct KnownSystemPrompt: Sendable {
    /// The member's texts (`Anthropic.MessagesRequest.system`).
    let texts: [String]
    /// The system messages made from `texts` for recent requests, most recent first: one per combination of
    /// `role: "system"` texts and prompt tuning (`SystemPrompt`), at most `SystemPromptMemo.promptsPerEntry`.
    let prompts: [SystemPrompt]
}

/// The system prompts of recent requests.
///
/// Claude Code sends the same 10 KB system prompt with every turn (and with every new conversation); parsing,
/// escaping and counting it again was about a sixth of what translating its next turn cost.
public typealias SystemPromptMemo = MemberMemo<KnownSystemPrompt>

extension MemberMemo where Value == KnownSystemPrompt {
    /// Shorter prompts ("You are a helpful assistant.") cost less to translate than to look up and keep.
    public static var defaultMinimumBytes: Int { 1024 }
    /// A kept prompt costs about 6 times its bytes with one message made from it (Claude Code's 9.5 KB: 54.5 KiB
    /// measured), so a memo holds at most about `capacity` × 6 × this.
    public static var maximumBytes: Int { 256 * 1024 }
    static var promptsPerEntry: Int { 4 }

    /// - Parameter minimumBytes: lower only in tests, to put small prompts through the memo.
    public convenience init(capacity: Int, minimumBytes: Int = defaultMinimumBytes) {
        self.init(capacity: capacity, minimumBytes: minimumBytes, maximumBytes: Self.maximumBytes)
    }
}
