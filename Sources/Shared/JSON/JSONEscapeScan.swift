/// Finds the bytes of a JSON string's content that cannot stand as they are: the quote, the backslash and the
/// control characters below U+0020. The parser stops there to end the string or decode an escape; the writer
/// stops there to escape. Everything else (including non-ASCII UTF-8) is copied in bulk.
enum JSONEscapeScan {
    private static let ones: UInt64 = 0x0101_0101_0101_0101
    private static let highBits: UInt64 = 0x8080_8080_8080_8080

    /// The index of the first quote, backslash or control byte at or after `index`, or `buffer.count`.
    @inline(__always)
    static func firstSpecialByte(in buffer: UnsafeBufferPointer<UInt8>, from index: Int) -> Int {
        var ignored = false
        return firstSpecialByte(in: buffer, from: index, sawNonASCII: &ignored)
    }

    /// As above, and sets `sawNonASCII` when a byte passed over is not ASCII, so that a parser can skip UTF-8
    /// validation of strings that are pure ASCII without a second pass over them.
    ///
    /// Sixteen bytes per step while none of them is special (SSE2 compares on x86-64), then the word with the first
    /// special byte found in one step by its flag, so a short string costs no byte-by-byte loop.
    @inline(__always)
    static func firstSpecialByte(
        in buffer: UnsafeBufferPointer<UInt8>, from index: Int, sawNonASCII: inout Bool
    ) -> Int {
        guard let base = buffer.baseAddress else { return index }
        var index = index
        let quotes = SIMD16<UInt8>(repeating: UInt8(ascii: "\""))
        let backslashes = SIMD16<UInt8>(repeating: UInt8(ascii: "\\"))
        let spaces = SIMD16<UInt8>(repeating: 0x20)
        var seenVector = SIMD16<UInt8>()
        while index &+ 16 <= buffer.count {
            let bytes = UnsafeRawPointer(base + index).loadUnaligned(as: SIMD16<UInt8>.self)
            // The mask as two words rather than `any(_:)`, which the optimiser sometimes leaves a generic reduction.
            let special = unsafeBitCast((bytes .== quotes) .| (bytes .== backslashes) .| (bytes .< spaces),
                                        to: SIMD2<UInt64>.self)
            if special[0] | special[1] != 0 { break }
            seenVector |= bytes
            index &+= 16
        }
        let seenWords = unsafeBitCast(seenVector, to: SIMD2<UInt64>.self)
        var seen = seenWords[0] | seenWords[1]
        defer { if seen & highBits != 0 { sawNonASCII = true } }
        while index &+ 8 <= buffer.count {
            let word = UnsafeRawPointer(base + index).loadUnaligned(as: UInt64.self)
            let flags = specialByteFlags(word)
            guard flags == 0 else {
                // Bytes are little-endian in the word: the lowest flag is the first special byte.
                let passed = flags.trailingZeroBitCount / 8
                seen |= word & ((1 &<< (UInt64(passed) &* 8)) &- 1)
                return index &+ passed
            }
            seen |= word
            index &+= 8
        }
        while index < buffer.count {
            let byte = buffer[index]
            if isSpecial(byte) { break }
            seen |= UInt64(byte)
            index &+= 1
        }
        return index
    }

    @inline(__always)
    static func isSpecial(_ byte: UInt8) -> Bool {
        byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\")
    }

    /// The high bit of each special byte of the eight, from the classic "has a byte less than n" bit trick. A borrow
    /// can flag a byte above a special one wrongly, never one below it, so the lowest flag is exact: that is all the
    /// caller reads.
    @inline(__always)
    private static func specialByteFlags(_ word: UInt64) -> UInt64 {
        let quotes = word ^ (ones &* UInt64(UInt8(ascii: "\"")))
        let backslashes = word ^ (ones &* UInt64(UInt8(ascii: "\\")))
        let control = (word &- ones &* 0x20) & ~word
        let quote = (quotes &- ones) & ~quotes
        let backslash = (backslashes &- ones) & ~backslashes
        return (control | quote | backslash) & highBits
    }
}
