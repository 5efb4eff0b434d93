/// Strict UTF-8 well-formedness (Unicode Table 3-7): no overlong forms, no surrogates, nothing past U+10FFFF,
/// no truncated or stray continuation bytes.
///
/// Written out because `String(validating:as:)` is generic over the encoding and pays for runtime metadata
/// lookups on every call, which dominated parsing documents made of many short strings.
enum UTF8Validator {
    private static let highBits: UInt64 = 0x8080_8080_8080_8080

    static func isValid(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        var index = 0
        let count = bytes.count
        while index < count {
            if let base = bytes.baseAddress, index &+ 8 <= count,
                UnsafeRawPointer(base + index).loadUnaligned(as: UInt64.self) & highBits == 0
            {
                index &+= 8
                continue
            }
            let lead = bytes[index]
            if lead < 0x80 {
                index &+= 1
                continue
            }
            // The allowed range of the second byte depends on the lead; later bytes are plain continuations.
            let length: Int
            var secondLow: UInt8 = 0x80
            var secondHigh: UInt8 = 0xBF
            switch lead {
            case 0xC2...0xDF: length = 2
            case 0xE0: length = 3; secondLow = 0xA0
            case 0xE1...0xEC, 0xEE...0xEF: length = 3
            case 0xED: length = 3; secondHigh = 0x9F
            case 0xF0: length = 4; secondLow = 0x90
            case 0xF1...0xF3: length = 4
            case 0xF4: length = 4; secondHigh = 0x8F
            default: return false
            }
            guard index &+ length <= count else { return false }
            let second = bytes[index &+ 1]
            guard second >= secondLow, second <= secondHigh else { return false }
            for offset in 2..<length where bytes[index &+ offset] & 0xC0 != 0x80 {
                return false
            }
            index &+= length
        }
        return true
    }
}
