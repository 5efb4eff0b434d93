extension Double {
    /// `text` read as `Double(text)` reads it, without the C library's `strtod` (about 1,000 instructions) when the
    /// text is plain decimal: digits with at most one point among them, as the upstream writes its rate-limit
    /// figures (`11.382867`, `9999000`). Anything else (a sign, an exponent, more digits, spaces, no number at all)
    /// is left to `Double(text)`.
    public init?(plainDecimal text: String) {
        if let value = text.withBorrowedUTF8(Self.plainDecimalValue) {
            self = value
        } else if let value = Double(text) {
            self = value
        } else {
            return nil
        }
    }

    /// The value of plain decimal bytes, or nil for anything else. Up to 15 digits make an integer a `Double` holds
    /// exactly; divided by a power of ten that is exact too, the quotient is rounded once, as `strtod` rounds.
    private static func plainDecimalValue(_ bytes: UnsafeBufferPointer<UInt8>) -> Double? {
        var digits = 0
        var mantissa: Int64 = 0
        var fractionDigits: Int?
        for byte in bytes {
            if byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") {
                digits += 1
                guard digits <= 15 else { return nil }
                mantissa = mantissa * 10 + Int64(byte - UInt8(ascii: "0"))
                if let fraction = fractionDigits { fractionDigits = fraction + 1 }
            } else if byte == UInt8(ascii: "."), fractionDigits == nil {
                fractionDigits = 0
            } else {
                return nil
            }
        }
        guard digits > 0 else { return nil }
        return Double(mantissa) / powersOfTen[fractionDigits ?? 0]
    }

    /// 10^0 … 10^15, each exactly a `Double`.
    private static let powersOfTen: [Double] = (0...15).map { power in
        (0..<power).reduce(1.0) { value, _ in value * 10 }
    }
}
