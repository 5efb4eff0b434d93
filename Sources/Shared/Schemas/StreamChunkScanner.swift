import Glibc

/// Decodes a Cerebras stream chunk, or a non-streamed completion body, straight from its bytes, without building a
/// `JSONValue` tree first.
///
/// At Cerebras speed a worker decodes a chunk every few microseconds, and the generic path (a tree of every member,
/// then lookups in it) was about a quarter of its CPU; a small non-streamed answer's tree was about a tenth of its
/// request's instructions. The scanner reads only the members `StreamChunk(json:)` reads and validates the rest as it
/// skips it, so it accepts no document the parser rejects. It gives up, returning nil, on any shape it does not decode
/// exactly as `StreamChunk(json:)` does: a member it reads given twice, an `error` member, a choice's `message` (its
/// `delta` in a completion body), an escaped or non-ASCII key. The caller then takes the generic path, so the two can
/// never disagree; `StreamChunkScannerTests` and the stream fuzz target hold them to it.
public struct StreamChunkScanner {
    /// Why the scanner handed a document back to the generic path.
    private struct Unsupported: Error {}

    /// What a stream's chunks repeat of each other, kept from one chunk to the next to decode them faster: the
    /// bytes around a text chunk's one string (`StreamChunkFrame`) and the members a chunk skipped
    /// (`RepeatedMembers`). Owned by one stream: `UpstreamStreamTranslator`.
    public struct Memo {
        var members = RepeatedMembers()
        var frame = StreamChunkFrame()

        public init() {}
    }

    /// The members one chunk of a stream skipped, kept to recognise them in the next chunk: a stream's chunks repeat
    /// `"id":…`, `"object":…`, `"created":…`, `"model":…` and their choice's `"index":0` byte for byte.
    ///
    /// A member whose bytes equal a remembered one at the same place (the n-th skipped member of the root, or of the
    /// choice) is stepped over with one comparison. That decodes exactly as scanning it would: the remembered bytes
    /// were a whole member that was validated and skipped, and a member parses the same wherever it stands. (A
    /// number that goes on past the remembered bytes leaves a digit where `,` or `}` must follow, and the document
    /// goes to the generic path as any other unusual one.)
    struct RepeatedMembers {
        /// Members longer than this are not kept (a stream remembers at most a few hundred bytes).
        static let maxMemberBytes = 160
        /// The first this many skipped members of each object are kept.
        static let maxMembers = 8

        /// The skipped members of the root object, and of its first choice, in order.
        fileprivate(set) var root = MemberList()
        fileprivate(set) var choice = MemberList()
    }

    /// Up to `RepeatedMembers.maxMembers` members' bytes, one after another in one array: one allocation an object
    /// a stream, where an array a member took one each (and the list of them more as it grew).
    struct MemberList: Equatable {
        private var bytes: [UInt8] = []
        /// Where each member ends in `bytes` (at most 8 × 160 bytes: a `UInt16` holds it), kept inline.
        private var ends = SIMD8<UInt16>()
        private(set) var count = 0

        /// The members, each as an array (for tests).
        var all: [[UInt8]] { (0..<count).map { Array(bytes[range(of: $0)]) } }

        private func range(of index: Int) -> Range<Int> {
            (index == 0 ? 0 : Int(ends[index - 1]))..<Int(ends[index])
        }

        /// The `index`-th member's length when the `available` bytes at `start` begin with it; nil when they do not,
        /// or there is no such member.
        func matchedLength(of index: Int, at start: UnsafePointer<UInt8>, available: Int) -> Int? {
            guard index < count else { return nil }
            let member = range(of: index)
            guard member.count <= available else { return nil }
            let matches = bytes.withUnsafeBufferPointer { bytes in
                bytes.baseAddress.map { memcmp($0 + member.lowerBound, start, member.count) == 0 } ?? member.isEmpty
            }
            return matches ? member.count : nil
        }

        /// Makes `member` the `ordinal`-th: in place of the one there, or after the last; an ordinal beyond that, or
        /// past `RepeatedMembers.maxMembers`, is not kept.
        mutating func set(_ member: UnsafeBufferPointer<UInt8>, at ordinal: Int) {
            if ordinal == count, count < RepeatedMembers.maxMembers {
                if bytes.capacity == 0 { bytes.reserveCapacity(Self.firstCapacity) }
                bytes.append(contentsOf: member)
                ends[count] = UInt16(bytes.count)
                count += 1
            } else if ordinal < count {
                let replaced = range(of: ordinal)
                bytes.replaceSubrange(replaced, with: member)
                let shift = member.count - replaced.count
                for later in ordinal..<count { ends[later] = UInt16(Int(ends[later]) + shift) }
            }
        }

        /// Room for the members a Cerebras chunk skips (`id`, `created`, `model`, `system_fingerprint`, `object`).
        private static let firstCapacity = 192
    }

    private enum SkippedIn { case root, choice }

    private var parser: JSONParser
    private var memo: RepeatedMembers
    /// Decoding a non-streamed `chat.completion` body: its choice's `message` is read where a chunk's `delta` is.
    private let isCompletion: Bool
    /// Whether the first element of `choices` was an object (a completion without one is the generic path's error).
    private var sawChoice = false
    /// The strings read so far (values of the members the chunk is decoded from, not those skipped), and the last.
    private var stringsRead = 0
    private var lastString: (range: Range<Int>, slot: StreamChunkFrame.Slot?) = (0..<0, nil)

    private init(_ buffer: UnsafeBufferPointer<UInt8>, memo: RepeatedMembers, isCompletion: Bool = false) {
        parser = JSONParser(buffer: buffer, maxDepth: JSONParser.defaultMaxDepth)
        self.memo = memo
        self.isCompletion = isCompletion
    }

    /// A non-streamed `chat.completion` body as one chunk whose delta is its choice's `message`, for
    /// `OpenAI.chunks(completion:)`; nil when the body needs the generic path (`OpenAI.chunks(fromCompletion:)`):
    /// the cases above, a `delta` member in the choice, or no choice object at all (the generic path's error).
    public static func decodeCompletion(_ bytes: UnsafeBufferPointer<UInt8>) -> OpenAI.StreamChunk? {
        var scanner = StreamChunkScanner(bytes, memo: RepeatedMembers(), isCompletion: true)
        guard let chunk = try? scanner.document(), scanner.sawChoice else { return nil }
        return chunk
    }

    /// The chunk, or nil when the document needs the generic path (it is unusual, or not valid JSON at all).
    public static func decode(_ bytes: UnsafeBufferPointer<UInt8>) -> OpenAI.StreamChunk? {
        var members = RepeatedMembers()
        return scan(bytes, remembering: &members)?.chunk
    }

    /// The chunk as `decode(_:)` gives it, from the bytes around the previous text chunk's string when it repeats
    /// them, else stepping over the members it repeats of the chunks before (`memo`, updated for the next chunk).
    public static func decode(_ bytes: UnsafeBufferPointer<UInt8>, repeating memo: inout Memo) -> OpenAI.StreamChunk? {
        if let chunk = memo.frame.decode(bytes) { return chunk }
        guard let (chunk, string) = scan(bytes, remembering: &memo.members) else { return nil }
        if let string { memo.frame.keep(bytes, string: string.range, slot: string.slot, decoded: chunk) }
        return chunk
    }

    /// The chunk and, when the members read held exactly one string and it went to a frame's slot, where it was.
    private static func scan(
        _ bytes: UnsafeBufferPointer<UInt8>, remembering members: inout RepeatedMembers
    ) -> (chunk: OpenAI.StreamChunk, string: (range: Range<Int>, slot: StreamChunkFrame.Slot)?)? {
        // The members move into the scanner and back, so that their arrays stay uniquely held and change in place.
        var scanner = StreamChunkScanner(bytes, memo: RepeatedMembers())
        swap(&scanner.memo, &members)
        defer { swap(&scanner.memo, &members) }
        guard let chunk = try? scanner.document() else { return nil }
        guard scanner.stringsRead == 1, let slot = scanner.lastString.slot else { return (chunk, nil) }
        return (chunk, (scanner.lastString.range, slot))
    }

    private mutating func document() throws -> OpenAI.StreamChunk {
        parser.skipWhitespace()
        guard try parser.peek() == UInt8(ascii: "{") else { throw Unsupported() }
        let chunk = try root()
        parser.skipWhitespace()
        guard parser.position == parser.buffer.count else { throw Unsupported() }
        return chunk
    }

    // MARK: - The members read

    private mutating func root() throws -> OpenAI.StreamChunk {
        var chunk = OpenAI.StreamChunk()
        var seen = SeenKeys()
        var members = 0
        var skipped = 0
        open()
        while let (key, start) = try nextNewKey(&members, skipped: &skipped, in: .root, likely: Self.likelyRootKeys) {
            if Self.key(key, is: "choices") {
                try seen.first(0)
                try choices(into: &chunk)
            } else if Self.key(key, is: "usage") {
                try seen.first(1)
                if try isNull() { continue }
                guard try parser.peek() == UInt8(ascii: "{") else { throw Unsupported() }
                chunk.usage = try usage()
            } else if Self.key(key, is: "error") {
                guard try isNull() else { throw Unsupported() }
                try seen.first(2)
            } else {
                try parser.skipValue(depth: 1)
                remember(in: .root, ordinal: skipped, from: start)
                skipped += 1
            }
        }
        return chunk
    }

    private mutating func choices(into chunk: inout OpenAI.StreamChunk) throws {
        guard try parser.peek() == UInt8(ascii: "[") else { return try parser.skipValue(depth: 1) }
        open()
        var elements = 0
        while try nextElement(&elements) {
            if elements == 1, try parser.peek() == UInt8(ascii: "{") {
                try choice(into: &chunk)
                sawChoice = true
            } else {
                try parser.skipValue(depth: 2)
            }
        }
    }

    private mutating func choice(into chunk: inout OpenAI.StreamChunk) throws {
        var seen = SeenKeys()
        var members = 0
        var stopReason: String?
        var matchedStop: String?
        var skipped = 0
        open()
        while let (key, start) = try nextNewKey(&members, skipped: &skipped, in: .choice,
                                                likely: Self.likelyChoiceKeys) {
            if Self.key(key, is: isCompletion ? "message" : "delta") {
                try seen.first(0)
                if try isNull() { continue }
                guard try parser.peek() == UInt8(ascii: "{") else { throw Unsupported() }
                chunk.delta = try delta()
            } else if Self.key(key, is: "finish_reason") {
                try seen.first(1)
                chunk.finishReason = try stringValue(depth: 3, slot: nil)
            } else if Self.key(key, is: "stop_reason") {
                try seen.first(2)
                stopReason = try stringValue(depth: 3, slot: nil)
            } else if Self.key(key, is: "matched_stop") {
                try seen.first(3)
                matchedStop = try stringValue(depth: 3, slot: nil)
            } else if Self.key(key, is: isCompletion ? "delta" : "message") {
                // The generic path reads `delta`, else `message`.
                throw Unsupported()
            } else {
                try parser.skipValue(depth: 3)
                remember(in: .choice, ordinal: skipped, from: start)
                skipped += 1
            }
        }
        chunk.matchedStop = stopReason ?? matchedStop
    }

    private mutating func delta() throws -> OpenAI.Delta {
        var delta = OpenAI.Delta()
        var seen = SeenKeys()
        var members = 0
        var reasoning: String?
        var reasoningContent: String?
        open()
        while let key = try nextKey(&members, likely: Self.likelyDeltaKeys) {
            if Self.key(key, is: "content") {
                try seen.first(0)
                delta.content = try stringValue(depth: 4, slot: .content)
            } else if Self.key(key, is: "reasoning") {
                try seen.first(1)
                reasoning = try stringValue(depth: 4, slot: .reasoning)
            } else if Self.key(key, is: "reasoning_content") {
                try seen.first(2)
                reasoningContent = try stringValue(depth: 4, slot: .reasoning)
            } else if Self.key(key, is: "tool_calls") {
                try seen.first(3)
                delta.toolCalls = try toolCalls()
            } else {
                try parser.skipValue(depth: 4)
            }
        }
        delta.reasoning = reasoning ?? reasoningContent
        return delta
    }

    private mutating func toolCalls() throws -> [OpenAI.ToolCallDelta] {
        guard try parser.peek() == UInt8(ascii: "[") else {
            try parser.skipValue(depth: 4)
            return []
        }
        var calls: [OpenAI.ToolCallDelta] = []
        var elements = 0
        open()
        while try nextElement(&elements) {
            // `StreamChunk(json:)` fails the chunk on an entry that is not an object: let it say so.
            guard try parser.peek() == UInt8(ascii: "{") else { throw Unsupported() }
            calls.append(try toolCall(position: elements - 1))
        }
        return calls
    }

    private mutating func toolCall(position: Int) throws -> OpenAI.ToolCallDelta {
        var call = OpenAI.ToolCallDelta(index: position)
        var seen = SeenKeys()
        var members = 0
        open()
        while let key = try nextKey(&members) {
            if Self.key(key, is: "index") {
                try seen.first(0)
                call.index = try intValue(depth: 6) ?? position
            } else if Self.key(key, is: "id") {
                try seen.first(1)
                call.id = try stringValue(depth: 6, slot: nil)
            } else if Self.key(key, is: "function") {
                try seen.first(2)
                guard try parser.peek() == UInt8(ascii: "{") else {
                    try parser.skipValue(depth: 6)
                    continue
                }
                try function(into: &call)
            } else {
                try parser.skipValue(depth: 6)
            }
        }
        return call
    }

    private mutating func function(into call: inout OpenAI.ToolCallDelta) throws {
        var seen = SeenKeys()
        var members = 0
        open()
        while let key = try nextKey(&members) {
            if Self.key(key, is: "name") {
                try seen.first(0)
                call.name = try stringValue(depth: 7, slot: nil)
            } else if Self.key(key, is: "arguments") {
                try seen.first(1)
                call.arguments = try stringValue(depth: 7, slot: .toolArguments)
            } else {
                try parser.skipValue(depth: 7)
            }
        }
    }

    private mutating func usage() throws -> OpenAI.Usage {
        var usage = OpenAI.Usage(promptTokens: 0, completionTokens: 0)
        var seen = SeenKeys()
        var members = 0
        open()
        while let key = try nextKey(&members) {
            if Self.key(key, is: "prompt_tokens") {
                try seen.first(0)
                usage.promptTokens = max(0, try intValue(depth: 2) ?? 0)
            } else if Self.key(key, is: "completion_tokens") {
                try seen.first(1)
                usage.completionTokens = max(0, try intValue(depth: 2) ?? 0)
            } else if Self.key(key, is: "prompt_tokens_details") {
                try seen.first(2)
                usage.cachedTokens = max(0, try cachedTokens() ?? 0)
            } else {
                try parser.skipValue(depth: 2)
            }
        }
        return usage
    }

    private mutating func cachedTokens() throws -> Int? {
        guard try parser.peek() == UInt8(ascii: "{") else {
            try parser.skipValue(depth: 2)
            return nil
        }
        var cached: Int?
        var seen = SeenKeys()
        var members = 0
        open()
        while let key = try nextKey(&members) {
            if Self.key(key, is: "cached_tokens") {
                try seen.first(0)
                cached = try intValue(depth: 3)
            } else {
                try parser.skipValue(depth: 3)
            }
        }
        return cached
    }

    // MARK: - Values, as `JSONValue.stringValue` and `intValue` read them

    /// The string, or nil for any other type (skipped). `slot` says where a frame puts the string (nil: nowhere).
    private mutating func stringValue(depth: Int, slot: StreamChunkFrame.Slot?) throws -> String? {
        guard try parser.peek() == UInt8(ascii: "\"") else {
            try parser.skipValue(depth: depth)
            return nil
        }
        let start = parser.position
        let string = try parser.parseString()
        stringsRead += 1
        lastString = (start..<parser.position, slot)
        return string
    }

    /// The number as an integer under `JSONValue.intValue`'s rules, or nil for any other type (skipped).
    private mutating func intValue(depth: Int) throws -> Int? {
        switch try parser.peek() {
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try parser.parseNumber().intValue
        default:
            try parser.skipValue(depth: depth)
            return nil
        }
    }

    private mutating func isNull() throws -> Bool {
        guard try parser.peek() == UInt8(ascii: "n") else { return false }
        _ = try parser.expect("null", value: .null)
        return true
    }

    // MARK: - Structure

    /// Past the `{` or `[` at `position` (the chunk schema nests seven levels, far inside the parser's limit).
    private mutating func open() {
        parser.position += 1
    }

    /// The next member's key, its colon consumed, or nil past the closing brace. `members` counts the members.
    private mutating func nextKey(_ members: inout Int, likely: [StaticString] = []) throws -> UnsafeBufferPointer<UInt8>? {
        guard try nextMember(&members) else { return nil }
        return likely.isEmpty ? try readKey() : try readKey(likely: likely)
    }

    /// Whether another member (before `}`) or element (before `]`) follows, positioned at it; false past `closing`.
    /// `count` counts the members or elements reached.
    private mutating func nextItem(closing: UInt8, _ count: inout Int) throws -> Bool {
        parser.skipWhitespace()
        if try parser.peek() == closing {
            parser.position += 1
            return false
        }
        if count > 0 {
            guard try parser.peek() == UInt8(ascii: ",") else { throw Unsupported() }
            parser.position += 1
            parser.skipWhitespace()
        }
        count += 1
        return true
    }

    private mutating func nextMember(_ members: inout Int) throws -> Bool {
        try nextItem(closing: UInt8(ascii: "}"), &members)
    }

    private mutating func nextElement(_ elements: inout Int) throws -> Bool {
        try nextItem(closing: UInt8(ascii: "]"), &elements)
    }

    /// The keys a Cerebras chunk reads, as `"key":` literals, in the order they usually come.
    private static let likelyRootKeys: [StaticString] = ["\"choices\":"]
    private static let likelyChoiceKeys: [StaticString] = ["\"delta\":", "\"finish_reason\":"]
    private static let likelyDeltaKeys: [StaticString] = ["\"content\":"]

    /// The key at the position, its colon consumed, as `readKey()` reads it. One of the `likely` literals (a quoted
    /// plain-ASCII key and its colon, no whitespace) is recognised with one comparison: exactly what the scan
    /// would read there, so only the cost differs.
    private mutating func readKey(likely: [StaticString]) throws -> UnsafeBufferPointer<UInt8> {
        let available = parser.buffer.count - parser.position
        if let base = parser.buffer.baseAddress {
            let here = base + parser.position
            for literal in likely {
                let length = literal.utf8CodeUnitCount
                guard length <= available, memcmp(here, literal.utf8Start, length) == 0 else { continue }
                parser.position += length
                parser.skipWhitespace()
                // Between the quotes: the literal less its `"` and `":`.
                return UnsafeBufferPointer(start: here + 1, count: length - 3)
            }
        }
        return try readKey()
    }

    /// The key at the position, its colon consumed.
    private mutating func readKey() throws -> UnsafeBufferPointer<UInt8> {
        guard try parser.peek() == UInt8(ascii: "\"") else { throw Unsupported() }
        let key = try rawKey()
        try parser.expectColon()
        return key
    }

    /// The bytes of a key without escapes or non-ASCII bytes (every key the chunk schema has); anything else
    /// goes to the generic path.
    private mutating func rawKey() throws -> UnsafeBufferPointer<UInt8> {
        let buffer = parser.buffer
        let start = parser.position + 1
        // Keys are short: a plain loop beats the word-at-a-time scan that pays off in long strings.
        var end = start
        while end < buffer.count {
            let byte = buffer[end]
            if byte == UInt8(ascii: "\"") { break }
            guard byte >= 0x20, byte < 0x80, byte != UInt8(ascii: "\\") else { throw Unsupported() }
            end += 1
        }
        guard end < buffer.count else { throw Unsupported() }
        parser.position = end + 1
        return UnsafeBufferPointer(rebasing: buffer[start..<end])
    }

    private static func key(_ key: UnsafeBufferPointer<UInt8>, is name: StaticString) -> Bool {
        key.equals(name)
    }

    // MARK: - Members repeated from the previous chunk

    /// The key of the next member that does not repeat a remembered one (those are stepped over, counted in
    /// `skipped`), with the position where the member starts; nil past the closing brace.
    private mutating func nextNewKey(
        _ members: inout Int, skipped: inout Int, in object: SkippedIn, likely: [StaticString]
    ) throws -> (key: UnsafeBufferPointer<UInt8>, start: Int)? {
        while try nextMember(&members) {
            if stepOverRemembered(in: object, ordinal: skipped) {
                skipped += 1
                continue
            }
            let start = parser.position
            return (try readKey(likely: likely), start)
        }
        return nil
    }

    /// Whether the bytes at the position repeat the `ordinal`-th member skipped in the same object of the previous
    /// chunk; if they do, the position is past them.
    private mutating func stepOverRemembered(in object: SkippedIn, ordinal: Int) -> Bool {
        let position = parser.position
        guard let here = parser.buffer.baseAddress.map({ $0 + position }) else { return false }
        let available = parser.buffer.count - position
        let length = switch object {
        case .root: memo.root.matchedLength(of: ordinal, at: here, available: available)
        case .choice: memo.choice.matchedLength(of: ordinal, at: here, available: available)
        }
        guard let length else { return false }
        parser.position += length
        return true
    }

    /// Keeps the member just skipped (from `start` to the position) as the `ordinal`-th of its object.
    private mutating func remember(in object: SkippedIn, ordinal: Int, from start: Int) {
        // A completion body has no next chunk to step over its members in.
        guard !isCompletion, parser.position - start <= RepeatedMembers.maxMemberBytes else { return }
        let bytes = UnsafeBufferPointer(rebasing: parser.buffer[start..<parser.position])
        switch object {
        case .root: memo.root.set(bytes, at: ordinal)
        case .choice: memo.choice.set(bytes, at: ordinal)
        }
    }

    // MARK: - Members given twice

    /// The members of one object that the scanner reads, so that a repeated one sends the document to the generic
    /// path (where the last occurrence wins, as in JavaScript).
    private struct SeenKeys {
        private var bits: UInt8 = 0

        mutating func first(_ member: Int) throws {
            let bit: UInt8 = 1 << member
            guard bits & bit == 0 else { throw Unsupported() }
            bits |= bit
        }
    }
}
