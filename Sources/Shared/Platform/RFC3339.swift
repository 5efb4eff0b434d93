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

    /// `milliseconds` (0…999) adds a fraction of three digits; nil leaves it out.
    public static func format(seconds: Int, milliseconds: Int?) -> String {
        var time = time_t(seconds)
        var parts = tm()
        gmtime_r(&time, &parts)
        var text = "\(parts.tm_year + 1900)-\(pad(parts.tm_mon + 1))-\(pad(parts.tm_mday))T"
            + "\(pad(parts.tm_hour)):\(pad(parts.tm_min)):\(pad(parts.tm_sec))"
        if let milliseconds { text += "." + pad(Int32(milliseconds), width: 3) }
        return text + "Z"
    }

    private static func pad(_ value: Int32, width: Int = 2) -> String {
        let digits = String(value)
        return String(repeating: "0", count: max(0, width - digits.count)) + digits
    }
}
