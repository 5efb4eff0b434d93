/// Renders Swift strings as JSON string literals, without Foundation.
///
/// The fake builds its responses by string interpolation so the hot paths never touch
/// `JSONSerialization`; this is the one place that knows JSON's escaping rules.
enum JSONText {
    /// `s` as a quoted JSON string; non-ASCII stays raw UTF-8 (as Cerebras sends it).
    static func quoted(_ s: String) -> String {
        var out = "\""
        out.reserveCapacity(s.utf8.count + 2)
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if scalar.value < 0x20 {
                    out += "\\u00"
                    out.unicodeScalars.append(hexDigit(scalar.value >> 4))
                    out.unicodeScalars.append(hexDigit(scalar.value & 0xF))
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        out += "\""
        return out
    }

    /// `s` quoted, or `null` when absent.
    static func quotedOrNull(_ s: String?) -> String {
        s.map(quoted) ?? "null"
    }

    private static func hexDigit(_ v: UInt32) -> Unicode.Scalar {
        Unicode.Scalar(UInt8(v < 10 ? 0x30 + v : 0x57 + v))
    }
}
