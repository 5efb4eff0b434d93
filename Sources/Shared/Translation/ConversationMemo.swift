#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import NIOConcurrencyHelpers

/// The translations of recent conversations, found again by the exact bytes of the start of their `messages`.
///
/// An agent resends the whole conversation with every turn: Claude Code's request at turn 20 carries the 19 turns
/// before it, byte for byte, and only the last message or two differ (it also moves its `cache_control` marker to the
/// newest message). Parsing, validating, translating, writing and counting those turns again is most of what
/// translating such a request costs. A body whose `messages` start with the same elements as a remembered request's
/// starts from the translation as it stood after them (`KnownConversation`): the parser steps over their bytes and
/// only the elements after them are decoded and translated.
///
/// What is remembered after an element is a pure function of the bytes up to there and, once an image or document
/// came, of how those translate for the model and options (`MediaTranslation`, checked before a start is used), so a
/// reused start is exactly what the request would have made. Least recently used conversations are dropped first,
/// within a byte budget. Each tenant (API key) only ever starts from its own conversations.
public final class ConversationMemo: Sendable {
    /// One remembered conversation.
    struct Entry: Sendable {
        /// Whose conversation it is (`Caller.tenant`): a start is never offered to another tenant, who could
        /// otherwise tell from the time a request takes that someone sent the same conversation.
        let tenant: String
        /// The start of a `messages` value as a client sent it: from its `[` through the end of the element of the
        /// last mark.
        let bytes: [UInt8]
        /// Where each element ends in `bytes`, with the translation as it stood there; in order, none past `bytes`.
        let marks: [Mark]
        /// The translated messages the marks count (maybe more after the last mark).
        let messages: OpenAI.MessageList
        let systemTexts: [String]

        /// What the entry holds, counted against the budget: the client's bytes, the translated messages' text, and
        /// half as much again for their strings and the marks (Claude Code's 30 KB conversation: 103 KB by this
        /// count, 101 KiB of a worker's RSS measured).
        var cost: Int { bytes.count + 5 * messages.jsonByteCount / 2 }

        /// The last mark whose element ends within the first `length` bytes.
        func lastMark(within length: Int) -> Int? {
            var low = 0
            var high = marks.count
            while low < high {
                let middle = (low + high) / 2
                if marks[middle].end <= length { low = middle + 1 } else { high = middle }
            }
            return low > 0 ? low - 1 : nil
        }

        func known(upTo markIndex: Int, extraBytes: Int) -> KnownConversation {
            let checkpoint = marks[markIndex].checkpoint
            return KnownConversation(
                elements: checkpoint.elements,
                messages: OpenAI.MessageList.Prefix(
                    list: messages, count: checkpoint.messageCount, jsonCount: checkpoint.jsonCount,
                    estimatedTokens: checkpoint.estimatedTokens, extraBytes: extraBytes),
                systemTexts: Array(systemTexts[..<checkpoint.systemTextCount]),
                openCalls: checkpoint.openCalls,
                media: checkpoint.media,
                marks: Array(marks[...markIndex]))
        }
    }

    /// An element's end in the client's bytes, and the translation after it.
    struct Mark: Sendable {
        let end: Int
        let checkpoint: ConversationCheckpoint
    }

    /// `messages` values shorter than this are translated each time: cheap enough, and not worth a slot.
    public static let defaultMinimumBytes = 4096
    public static let defaultBudgetBytes = 32 * 1024 * 1024
    /// Bytes of text a known start's list is given room for, for the messages after it.
    static let roomForNewMessages = 16 * 1024

    /// The most the remembered conversations may hold (`Entry.cost`); 0 keeps none.
    public let budgetBytes: Int
    let minimumBytes: Int
    /// Most recently used first.
    private let entries: NIOLockedValueBox<[Entry]>
    private let lookups = MemoLookupCounter()

    /// - Parameter minimumBytes: lower only in tests, to put small conversations through the memo.
    public init(budgetBytes: Int, minimumBytes: Int = defaultMinimumBytes) {
        self.budgetBytes = max(0, budgetBytes)
        self.minimumBytes = max(2, minimumBytes)
        entries = NIOLockedValueBox([])
    }

    public var count: Int { entries.withLockedValue { $0.count } }
    /// What the remembered conversations hold, as counted against the budget.
    public var heldBytes: Int { entries.withLockedValue { $0.reduce(0) { $0 + $1.cost } } }
    /// Bodies with `messages` of at least the minimum size since the memo was made, by whether the start of their
    /// conversation was known.
    public var lookupCounts: MemoLookups { lookups.current }

    /// Whether a `messages` value starting `bytes` (which run to the end of the body) is worth a lookup.
    func isWorthALookup(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        budgetBytes > 0 && bytes.count >= minimumBytes
    }

    func countLookup(known: Bool) {
        lookups.count(known: known)
    }

    /// The longest remembered start of the `messages` value `bytes` begins with, made the most recently used, and
    /// the length of that start in bytes.
    func known(startingAt bytes: UnsafeBufferPointer<UInt8>, tenant: String) -> (KnownConversation, length: Int)? {
        guard isWorthALookup(bytes) else { return nil }
        return entries.withLockedValue { entries in
            var best: (entry: Int, mark: Int, end: Int)?
            for index in entries.indices {
                let entry = entries[index]
                guard entry.tenant == tenant else { continue }
                let common = Self.commonPrefixLength(entry.bytes, bytes)
                guard let mark = entry.lastMark(within: common), entry.marks[mark].end > best?.end ?? 0 else { continue }
                best = (index, mark, entry.marks[mark].end)
            }
            guard let best else { return nil }
            let entry = entries[best.entry]
            if best.entry > 0 {
                entries.remove(at: best.entry)
                entries.insert(entry, at: 0)
            }
            // Room for a turn or two more of text (the rest of the body, tools and all, would be too much).
            let extraBytes = min(bytes.count - best.end, Self.roomForNewMessages)
            return (entry.known(upTo: best.mark, extraBytes: extraBytes), best.end)
        }
    }

    /// Keeps the translation of a request's conversation.
    ///
    /// - Parameters:
    ///   - messages: the request's `messages` value as the client sent it.
    ///   - elementEnds: where each element decoded for the request ends in `messages` (those after `known`).
    ///   - known: the start the request's translation took from this memo, if any.
    ///   - translated: the request's translation, made with `recordsCheckpoints`.
    ///   - tenant: whose request it was.
    func remember(messages: UnsafeBufferPointer<UInt8>, elementEnds: [Int], known: KnownConversation?,
                  translated: TranslatedRequest, tenant: String) {
        guard budgetBytes > 0, messages.count >= minimumBytes else { return }
        let knownElements = known?.elements ?? 0
        var marks = known?.marks ?? []
        for checkpoint in translated.checkpoints {
            let element = checkpoint.elements - knownElements - 1
            guard element >= 0, element < elementEnds.count else {
                assertionFailure("checkpoint after element \(checkpoint.elements) of \(knownElements + elementEnds.count)")
                return
            }
            marks.append(Mark(end: elementEnds[element], checkpoint: checkpoint))
        }
        guard let last = marks.last, last.checkpoint.elements > knownElements else { return }
        let entry = Entry(tenant: tenant, bytes: Array(messages[..<last.end]), marks: marks,
                          messages: translated.upstream.conversation, systemTexts: translated.messageSystemTexts)
        guard entry.cost <= budgetBytes / 2 else { return }
        entries.withLockedValue { entries in
            entries.removeAll { Self.continues(entry, $0) }
            entries.insert(entry, at: 0)
            var held = entries.reduce(0) { $0 + $1.cost }
            while held > budgetBytes, let dropped = entries.popLast() { held -= dropped.cost }
        }
    }

    /// Whether `entry` continues `other`'s conversation: it starts with all of `other`'s elements but perhaps the last
    /// (which clients change when they move a cache marker on to the newest message). `other` would then only be
    /// found where `entry` is found too, except by a retry of its own request. A conversation that merely shares a
    /// start with `other` and went another way does not replace it.
    static func continues(_ entry: Entry, _ other: Entry) -> Bool {
        guard other.tenant == entry.tenant else { return false }
        guard let last = other.marks.last else { return true }
        let needed = other.marks.count >= 2 ? other.marks[other.marks.count - 2].end : last.end
        guard needed <= entry.bytes.count else { return false }
        return other.bytes.withUnsafeBytes { other in
            entry.bytes.withUnsafeBytes { entry in memcmp(other.baseAddress!, entry.baseAddress!, needed) == 0 }
        }
    }

    /// How many leading bytes `known` and `bytes` share.
    static func commonPrefixLength(_ known: [UInt8], _ bytes: UnsafeBufferPointer<UInt8>) -> Int {
        known.withUnsafeBufferPointer { known in commonPrefixLength(known, bytes) }
    }

    /// Blocks of this many bytes are compared by `memcmp` (vectorised); only the first unequal one byte by byte.
    private static let comparedBlock = 1024

    private static func commonPrefixLength(_ a: UnsafeBufferPointer<UInt8>, _ b: UnsafeBufferPointer<UInt8>) -> Int {
        let length = min(a.count, b.count)
        guard let baseA = a.baseAddress, let baseB = b.baseAddress else { return 0 }
        var index = 0
        while index + comparedBlock <= length, memcmp(baseA + index, baseB + index, comparedBlock) == 0 {
            index += comparedBlock
        }
        while index < length, a[index] == b[index] { index += 1 }
        return index
    }
}
