extension UInt8 {
    /// The byte with an ASCII capital letter turned into its small letter; every other byte as it is. For case-
    /// insensitive matching of ASCII names on raw bytes (header names, fixed phrases), without building a String.
    @inline(__always)
    public var asciiLowercased: UInt8 {
        self >= 0x41 && self <= 0x5A ? self | 0x20 : self
    }
}
