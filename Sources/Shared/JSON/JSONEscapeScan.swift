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
    @inline(__always)
    static func firstSpecialByte(
        in buffer: UnsafeBufferPointer<UInt8>, from index: Int, sawNonASCII: inout Bool
    ) -> Int {
        var index = index
        var seen: UInt64 = 0
        if let base = buffer.baseAddress {
            // Eight bytes per step: JSON strings are mostly long runs with nothing to escape.
            while index &+ 8 <= buffer.count {
                let word = UnsafeRawPointer(base + index).loadUnaligned(as: UInt64.self)
                if containsSpecialByte(word) { break }
                seen |= word
                index &+= 8
            }
        }
        while index < buffer.count {
            let byte = buffer[index]
            if isSpecial(byte) { break }
            seen |= UInt64(byte)
            index &+= 1
        }
        if seen & highBits != 0 { sawNonASCII = true }
        return index
    }

    @inline(__always)
    static func isSpecial(_ byte: UInt8) -> Bool {
        byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\")
    }

    /// Whether any of the eight bytes is special. Each test is the classic "has a byte less than n" bit trick:
    /// exact as a yes/no answer for the whole word, which is all the caller needs before rescanning byte by byte.
    @inline(__always)
    private static func containsSpecialByte(_ word: UInt64) -> Bool {
        let quotes = word ^ (ones &* UInt64(UInt8(ascii: "\"")))
        let backslashes = word ^ (ones &* UInt64(UInt8(ascii: "\\")))
        let control = (word &- ones &* 0x20) & ~word
        let quote = (quotes &- ones) & ~quotes
        let backslash = (backslashes &- ones) & ~backslashes
        return (control | quote | backslash) & highBits != 0
    }
}
