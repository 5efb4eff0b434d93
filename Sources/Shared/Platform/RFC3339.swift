#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// RFC 3339 timestamps in UTC: `2026-11-25T08:00:00Z`, or `2026-11-25T08:00:00.123Z` with milliseconds.
public enum RFC3339 {
    /// Second precision. `rounding` picks the second: rate-limit resets round up (a client waiting until then is
    /// never early), the reload record rounds down (as `Date.ISO8601Format()` did).
    public static func format(_ secondsSinceEpoch: Double, rounding: FloatingPointRoundingRule) -> String {
        format(seconds: Int(secondsSinceEpoch.rounded(rounding)), milliseconds: nil)
    }

    /// `milliseconds` (0…999) adds a fraction of three digits; nil leaves it out. Written digit by digit into the
    /// string's own storage: rate-limit headers carry one of these on every response.
    public static func format(seconds: Int, milliseconds: Int?) -> String {
        var time = time_t(seconds)
        var parts = tm()
        gmtime_r(&time, &parts)
        let year = Int(parts.tm_year) + 1900
        let yearDigits = max(4, String(year).utf8.count)
        let capacity = yearDigits + 16 + (milliseconds == nil ? 0 : 4)
        return String(unsafeUninitializedCapacity: capacity) { text in
            var end = 0
            func put(_ value: Int, width: Int) {
                var rest = max(0, value)
                for offset in stride(from: width - 1, through: 0, by: -1) {
                    text[end + offset] = UInt8(ascii: "0") + UInt8(rest % 10)
                    rest /= 10
                }
                end += width
            }
            func put(_ byte: Unicode.Scalar) {
                text[end] = UInt8(ascii: byte)
                end += 1
            }
            put(year, width: yearDigits)
            put("-")
            put(Int(parts.tm_mon) + 1, width: 2)
            put("-")
            put(Int(parts.tm_mday), width: 2)
            put("T")
            put(Int(parts.tm_hour), width: 2)
            put(":")
            put(Int(parts.tm_min), width: 2)
            put(":")
            put(Int(parts.tm_sec), width: 2)
            if let milliseconds {
                put(".")
                put(milliseconds, width: 3)
            }
            put("Z")
            return end
        }
    }
}
