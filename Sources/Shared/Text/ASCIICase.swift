extension UInt8 {
    /// The byte with an ASCII capital letter turned into its small letter; every other byte as it is. For case-
    /// insensitive matching of ASCII names on raw bytes (header names, fixed phrases), without building a String.
    @inline(__always)
    public var asciiLowercased: UInt8 {
        self >= 0x41 && self <= 0x5A ? self | 0x20 : self
    }

    /// The value of a hexadecimal digit (`0`–`9`, `a`–`f`, `A`–`F`), nil for any other byte: JSON's `\u` escapes,
    /// HTTP's chunk sizes.
    @inline(__always)
    public var hexDigitValue: UInt8? {
        switch self {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): self - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): self - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): self - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}

extension UnsafeBufferPointer where Element == UInt8 {
    /// Whether these bytes are exactly `literal` (a JSON key, an SSE field name): a byte loop, no `String`.
    @inlinable
    public func equals(_ literal: StaticString) -> Bool {
        guard count == literal.utf8CodeUnitCount else { return false }
        let expected = literal.utf8Start
        for index in 0..<count where self[index] != expected[index] { return false }
        return true
    }

    /// Whether these bytes spell `lowercased` (an ASCII name in small letters) in any letter case (header names).
    /// Eight bytes a step: every header of every upstream answer is looked up by its name, and the rate-limit names
    /// are 30 bytes and more.
    @inlinable
    public func equalsIgnoringASCIICase(_ lowercased: StaticString) -> Bool {
        guard count == lowercased.utf8CodeUnitCount else { return false }
        guard let base = baseAddress else { return true }
        let expected = UnsafeRawPointer(lowercased.utf8Start)
        let bytes = UnsafeRawPointer(base)
        var index = 0
        while index &+ 8 <= count {
            let word = bytes.loadUnaligned(fromByteOffset: index, as: UInt64.self)
            let wanted = expected.loadUnaligned(fromByteOffset: index, as: UInt64.self)
            guard ASCIICase.lowercased(word) == wanted else { return false }
            index &+= 8
        }
        while index < count {
            let wanted = expected.load(fromByteOffset: index, as: UInt8.self)
            guard self[index].asciiLowercased == wanted else { return false }
            index &+= 1
        }
        return true
    }
}

extension String {
    /// Whether the string starts with `lowercased` (ASCII, in small letters) in any letter case: a header value's
    /// media type, say, without the lowercased copy `lowercased().hasPrefix(_:)` makes.
    public func hasPrefixIgnoringASCIICase(_ lowercased: StaticString) -> Bool {
        withBorrowedUTF8 { bytes in
            let length = lowercased.utf8CodeUnitCount
            guard bytes.count >= length else { return false }
            return UnsafeBufferPointer(rebasing: bytes[..<length]).equalsIgnoringASCIICase(lowercased)
        }
    }
}

/// Letter case on eight bytes at once.
public enum ASCIICase {
    /// The word with each byte an ASCII capital letter (`A`…`Z`) turned into its small letter, every other byte as it
    /// is: `UInt8.asciiLowercased` on all eight bytes, without a carry between them.
    @inlinable
    public static func lowercased(_ word: UInt64) -> UInt64 {
        let ones: UInt64 = 0x0101_0101_0101_0101
        let low7 = word & (ones &* 0x7F)
        // High bit of each byte: its low seven bits are at least `A` (0x41), and more than `Z` (0x5A). Each sum stays
        // below 0x100 per byte, so nothing carries into the next.
        let atLeastA = low7 &+ ones &* (0x80 - 0x41)
        let aboveZ = low7 &+ ones &* (0x80 - 0x5B)
        let capitals = atLeastA & ~aboveZ & ~word & (ones &* 0x80)
        return word | (capitals >> 2)
    }
}
