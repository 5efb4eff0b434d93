#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Synchronization

/// RFC 3339 timestamps in UTC: `2026-11-25T08:00:00Z`, or `2026-11-25T08:00:00.123Z` with milliseconds.
public enum RFC3339 {
    /// Second precision. `rounding` picks the second: rate-limit resets round up (a client waiting until then is
    /// never early), the reload record rounds down (as `Date.ISO8601Format()` did).
    public static func format(_ secondsSinceEpoch: Double, rounding: FloatingPointRoundingRule) -> String {
        let seconds = Int(secondsSinceEpoch.rounded(rounding))
        if let text = recent.withLock({ $0.text(of: seconds) }) { return text }
        let text = format(seconds: seconds, milliseconds: nil)
        recent.withLock { $0.keep(text, of: seconds) }
        return text
    }

    /// The seconds `format(_:rounding:)` wrote last: the rate-limit headers of every response in one second name the
    /// same resets (one for requests, one for tokens), and breaking a time into calendar fields (`gmtime_r`) costs
    /// more than a lock.
    private static let recent = Mutex(RecentSeconds())

    private struct RecentSeconds {
        private var first: (seconds: Int, text: String)?
        private var second: (seconds: Int, text: String)?
        private var replacesFirst = true

        func text(of seconds: Int) -> String? {
            if let first, first.seconds == seconds { return first.text }
            if let second, second.seconds == seconds { return second.text }
            return nil
        }

        /// Keeps `text` in place of the older of the two.
        mutating func keep(_ text: String, of seconds: Int) {
            if replacesFirst { first = (seconds, text) } else { second = (seconds, text) }
            replacesFirst.toggle()
        }
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
