/// The decimal digits of a non-negative number, produced on the stack for a writer to copy: no intermediate String.
/// Used wherever numbers are written on a hot path (JSON, RESP commands, response heads).
public enum DecimalDigits {
    @inlinable @discardableResult
    public static func withDigits<Result>(of value: UInt, _ body: (UnsafeRawBufferPointer) throws -> Result)
        rethrows -> Result
    {
        var storage: (UInt64, UInt64, UInt64) = (0, 0, 0)  // 24 bytes: room for the 20 digits of UInt64.max
        return try withUnsafeMutableBytes(of: &storage) { buffer in
            var rest = value
            var start = buffer.count
            repeat {
                start -= 1
                buffer[start] = UInt8(ascii: "0") + UInt8(rest % 10)
                rest /= 10
            } while rest > 0
            return try body(UnsafeRawBufferPointer(rebasing: buffer[start...]))
        }
    }

    /// How many digits `withDigits` produces for `value`.
    @inlinable
    public static func count(of value: UInt) -> Int {
        var digits = 1
        var rest = value / 10
        while rest > 0 {
            digits += 1
            rest /= 10
        }
        return digits
    }
}
