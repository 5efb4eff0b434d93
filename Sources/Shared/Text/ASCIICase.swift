extension UInt8 {
    /// The byte with an ASCII capital letter turned into its small letter; every other byte as it is. For case-
    /// insensitive matching of ASCII names on raw bytes (header names, fixed phrases), without building a String.
    @inline(__always)
    public var asciiLowercased: UInt8 {
        self >= 0x41 && self <= 0x5A ? self | 0x20 : self
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
    @inlinable
    public func equalsIgnoringASCIICase(_ lowercased: StaticString) -> Bool {
        guard count == lowercased.utf8CodeUnitCount else { return false }
        let expected = lowercased.utf8Start
        for index in 0..<count where self[index].asciiLowercased != expected[index] { return false }
        return true
    }
}
