#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A fixed set of short ASCII strings, each with a value, found by a string's bytes without making a `String` or
/// hashing it with the standard library's hasher (SipHash, which cost more than the rest of the work of the hot
/// loops that look strings up: the parser for every string, the schema sanitizer for every key).
///
/// An open-addressing table over a string's first eight bytes and its length, at most a quarter full: a lookup is
/// one multiply, usually one slot, one compare, and a `memcmp` past eight bytes.
final class ByteStringTable<Value>: @unchecked Sendable {
    /// Longer strings are never in a table.
    static var maximumLength: Int { 64 }

    private struct Slot {
        /// The string's first eight bytes as a little-endian word, zero past its end.
        var head: UInt64 = 0
        /// 0 for an empty slot.
        var length = 0
        /// Where the string's bytes are in `arena`.
        var offset = 0
        /// Where its value is in `values`.
        var index = 0
    }

    private static var slotBits: Int { 9 }
    private let slots: UnsafeMutableBufferPointer<Slot>
    private let arena: UnsafeMutableBufferPointer<UInt8>
    private let values: [Value]

    /// Never deallocated: tables are made once, as `static let`s.
    init(_ entries: [(string: String, value: Value)]) {
        precondition(entries.count * 4 <= 1 << Self.slotBits, "a table stays at most a quarter full")
        precondition(Set(entries.map(\.string)).count == entries.count, "a string is listed twice")
        values = entries.map(\.value)
        let bytes = entries.flatMap { Array($0.string.utf8) }
        arena = .allocate(capacity: bytes.count)
        _ = arena.initialize(from: bytes)
        slots = .allocate(capacity: 1 << Self.slotBits)
        slots.initialize(repeating: Slot())
        var offset = 0
        for (index, entry) in entries.enumerated() {
            let utf8 = Array(entry.string.utf8)
            precondition(!utf8.isEmpty && utf8.count <= Self.maximumLength
                             && utf8.allSatisfy { $0 >= 0x20 && $0 < 0x80 },
                         "\(entry.string): a table holds short printable ASCII strings")
            let head = utf8.withUnsafeBufferPointer { Self.head(of: $0) }
            var slot = Self.slot(head: head, length: utf8.count)
            while slots[slot].length != 0 { slot = (slot &+ 1) & (slots.count &- 1) }
            slots[slot] = Slot(head: head, length: utf8.count, offset: offset, index: index)
            offset += utf8.count
        }
    }

    /// The value of the string spelled by `bytes`, or nil.
    @inline(__always)
    func value(for bytes: UnsafeBufferPointer<UInt8>) -> Value? {
        guard let start = bytes.baseAddress, bytes.count > 0, bytes.count <= Self.maximumLength else { return nil }
        return value(head: Self.head(of: bytes), length: bytes.count, start: start)
    }

    /// The value of the `length` bytes at `start`, whose first eight (zero past the end) are `head`: for a caller
    /// that reads them in one load because more bytes follow in its buffer.
    func value(head: UInt64, length: Int, start: UnsafePointer<UInt8>) -> Value? {
        var slot = Self.slot(head: head, length: length)
        while slots[slot].length != 0 {
            let candidate = slots[slot]
            if candidate.head == head, candidate.length == length,
                length <= 8 || memcmp(start + 8, arena.baseAddress! + candidate.offset + 8, length - 8) == 0
            {
                return values[candidate.index]
            }
            slot = (slot &+ 1) & (slots.count &- 1)
        }
        return nil
    }

    /// The first eight bytes as a little-endian word, zero past the end.
    @inline(__always)
    static func head(of bytes: UnsafeBufferPointer<UInt8>) -> UInt64 {
        if bytes.count >= 8, let start = bytes.baseAddress {
            return UnsafeRawPointer(start).loadUnaligned(as: UInt64.self)
        }
        var head: UInt64 = 0
        for index in 0..<bytes.count { head |= UInt64(bytes[index]) << (8 * UInt64(index)) }
        return head
    }

    @inline(__always)
    private static func slot(head: UInt64, length: Int) -> Int {
        let mixed = (head ^ UInt64(truncatingIfNeeded: length)) &* 0x9E37_79B9_7F4A_7C15  // Fibonacci hashing
        return Int(truncatingIfNeeded: mixed >> (64 - UInt64(slotBits)))
    }
}
