#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import NIOConcurrencyHelpers

/// The tool lists of recent requests, decoded, validated and translated, found again by the exact bytes of their
/// `tools` member.
///
/// Claude Code sends the same 30 KB of tool definitions with every turn, and parsing, checking, sanitising,
/// counting and writing them again is more than half of what translating its request costs. A body whose `tools`
/// bytes equal a remembered list's skips all of that (`decodeMessagesBody`): the parser recognises the bytes and
/// steps over them. What is remembered is a pure function of those bytes, so a reused list is exactly the list
/// the request would have made. Least recently used lists are dropped first.
public final class ToolListMemo: Sendable {
    /// One remembered list.
    struct Entry: Sendable {
        /// The `tools` value as the client sent it.
        let bytes: [UInt8]
        let tools: [Anthropic.Tool]
        let droppedServerTools: [String]
        let upstream: OpenAI.ToolList
    }

    /// Lists shorter than this are parsed each time: cheap enough, and not worth a slot.
    public static let defaultMinimumBytes = 256
    /// Longer lists are not kept, which bounds what a memo holds to about `capacity` × 6 × this (a kept list costs
    /// about 6 times its bytes: measured with Claude Code's).
    public static let maximumBytes = 256 * 1024

    /// How many lists are kept; 0 keeps none.
    public let capacity: Int
    let minimumBytes: Int
    /// Most recently used first.
    private let entries: NIOLockedValueBox<[Entry]>
    private let lookups = MemoLookupCounter()

    /// - Parameter minimumBytes: lower only in tests, to put small lists through the memo.
    public init(capacity: Int, minimumBytes: Int = defaultMinimumBytes) {
        self.capacity = capacity
        self.minimumBytes = max(1, minimumBytes)
        entries = NIOLockedValueBox([])
    }

    public var count: Int { entries.withLockedValue { $0.count } }

    /// Bodies with a `tools` member since the memo was made, by whether their list was known.
    public var lookupCounts: MemoLookups { lookups.current }

    func countLookup(known: Bool) {
        lookups.count(known: known)
    }

    /// The remembered list whose bytes `bytes` starts with, made the most recently used.
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

    /// Keeps a list made from `bytes`, unless it is too small or too large to be worth it.
    func remember(
        bytes: UnsafeBufferPointer<UInt8>, tools: [Anthropic.Tool], droppedServerTools: [String],
        upstream: OpenAI.ToolList
    ) {
        guard capacity > 0, bytes.count >= minimumBytes, bytes.count <= Self.maximumBytes else { return }
        let entry = Entry(bytes: Array(bytes), tools: tools, droppedServerTools: droppedServerTools, upstream: upstream)
        entries.withLockedValue { entries in
            // Two event loops may both have missed the same list; keep one copy.
            if let index = entries.firstIndex(where: { $0.bytes == entry.bytes }) { entries.remove(at: index) }
            entries.insert(entry, at: 0)
            if entries.count > capacity { entries.removeLast(entries.count - capacity) }
        }
    }
}
