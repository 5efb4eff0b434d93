#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The member names and values that recur in nearly every Messages API body — the API's own member names, JSON
/// Schema's keywords in tool schemas, and the values of `type` and `role` members — each made into a `String` once.
///
/// Parsing a string of this list then costs a comparison instead of making a new `String`: Swift validates and
/// copies the bytes of every `String` it makes (about 250 instructions for a short ASCII one, plus an allocation past
/// 15 bytes), and a request's tool schemas repeat the same few dozen words hundreds of times. The list is the API's
/// vocabulary, not one client's: a string that is not in it is made as before.
enum CommonJSONStrings {
    /// Longer strings are not looked up (the list's longest has 44 bytes).
    static let maximumLength = 64

    static let strings: [String] = [
        // Messages API members.
        "model", "max_tokens", "messages", "system", "stream", "temperature", "top_p", "top_k", "stop_sequences",
        "metadata", "user_id", "tools", "tool_choice", "thinking", "budget_tokens", "type", "text", "role", "content",
        "name", "description", "input_schema", "id", "input", "tool_use_id", "is_error", "cache_control", "ttl",
        "source", "media_type", "data", "url", "signature", "citations", "disable_parallel_tool_use",
        "context_management", "service_tier",
        // Their values.
        "user", "assistant", "image", "document", "tool_use", "tool_result", "redacted_thinking", "ephemeral",
        "base64", "auto", "any", "tool", "none", "enabled", "disabled", "image/png", "image/jpeg", "image/webp",
        "image/gif", "application/pdf", "text/plain",
        // JSON Schema keywords and type names.
        "properties", "required", "items", "enum", "const", "default", "format", "minimum", "maximum", "minLength",
        "maxLength", "minItems", "maxItems", "additionalProperties", "$schema", "$ref", "$defs", "definitions", "anyOf",
        "oneOf", "allOf", "not", "pattern", "title", "examples", "nullable", "exclusiveMinimum", "exclusiveMaximum",
        "uniqueItems", "propertyNames", "patternProperties", "object", "string", "number", "integer", "boolean",
        "array", "null", "http://json-schema.org/draft-07/schema#", "https://json-schema.org/draft/2020-12/schema",
    ]

    /// Where the strings are found: an open-addressing hash table over their first eight bytes and length, built
    /// once. A class so that a lookup reads one lazily made global rather than several.
    private final class Table: @unchecked Sendable {
        struct Slot {
            /// The string's first eight bytes as a little-endian word, zero past its end.
            var head: UInt64 = 0
            /// 0 for an empty slot.
            var length = 0
            /// Where the string's bytes are in `arena`.
            var offset = 0
            /// Where the string is in `strings`.
            var index = 0
        }

        static let slotBits = 9
        let slots: UnsafeMutableBufferPointer<Slot>
        let arena: UnsafeMutableBufferPointer<UInt8>
        let strings: [String]

        init(_ strings: [String]) {
            precondition(strings.count * 4 <= 1 << Self.slotBits, "the table stays at most a quarter full")
            precondition(Set(strings).count == strings.count, "a string is listed twice")
            self.strings = strings
            let bytes = strings.flatMap { Array($0.utf8) }
            arena = .allocate(capacity: bytes.count)
            _ = arena.initialize(from: bytes)
            slots = .allocate(capacity: 1 << Self.slotBits)
            slots.initialize(repeating: Slot())
            var offset = 0
            for (index, string) in strings.enumerated() {
                let utf8 = Array(string.utf8)
                precondition(!utf8.isEmpty && utf8.count <= maximumLength
                                 && utf8.allSatisfy { $0 >= 0x20 && $0 < 0x80 },
                             "\(string): common strings are short printable ASCII")
                let head = utf8.prefix(8).enumerated().reduce(UInt64(0)) {
                    $0 | UInt64($1.element) << (8 * $1.offset)
                }
                var slot = Self.slot(head: head, length: utf8.count)
                while slots[slot].length != 0 { slot = (slot &+ 1) & (slots.count &- 1) }
                slots[slot] = Slot(head: head, length: utf8.count, offset: offset, index: index)
                offset += utf8.count
            }
        }

        @inline(__always)
        static func slot(head: UInt64, length: Int) -> Int {
            let mixed = (head ^ UInt64(truncatingIfNeeded: length)) &* 0x9E37_79B9_7F4A_7C15  // Fibonacci hashing
            return Int(truncatingIfNeeded: mixed >> (64 - UInt64(slotBits)))
        }

        func string(head: UInt64, length: Int, start: UnsafePointer<UInt8>) -> String? {
            var slot = Self.slot(head: head, length: length)
            while slots[slot].length != 0 {
                let candidate = slots[slot]
                if candidate.head == head, candidate.length == length,
                    length <= 8 || memcmp(start + 8, arena.baseAddress! + candidate.offset + 8, length - 8) == 0
                {
                    return strings[candidate.index]
                }
                slot = (slot &+ 1) & (slots.count &- 1)
            }
            return nil
        }
    }

    private static let table = Table(strings)

    /// The string of the list spelled by `buffer[range]`, or nil. `buffer` may be larger than the range: the first
    /// word is then read in one load when eight bytes are there to read.
    @inline(__always)
    static func string(in buffer: UnsafeBufferPointer<UInt8>, _ range: Range<Int>) -> String? {
        let length = range.count
        guard length > 0, length <= maximumLength, let base = buffer.baseAddress else { return nil }
        let start = base + range.lowerBound
        var head: UInt64
        if range.lowerBound &+ 8 <= buffer.count {
            head = UnsafeRawPointer(start).loadUnaligned(as: UInt64.self)
            if length < 8 { head &= (1 << (8 * UInt64(length))) &- 1 }
        } else {
            head = 0
            for index in 0..<min(length, 8) { head |= UInt64(start[index]) << (8 * UInt64(index)) }
        }
        return table.string(head: head, length: length, start: start)
    }
}
