/// Tracks whether a JSON text received in fragments has completed its top-level value.
///
/// Used to tell when one streamed tool call's arguments are whole, so the next call's block can open.
struct JSONCompletenessScanner {
    private var depth = 0
    private var inString = false
    private var escaped = false
    private var sawRoot = false
    private(set) var isComplete = false

    mutating func feed(_ text: String) {
        for byte in text.utf8 where !isComplete {
            if inString {
                if escaped {
                    escaped = false
                } else if byte == UInt8(ascii: "\\") {
                    escaped = true
                } else if byte == UInt8(ascii: "\"") {
                    inString = false
                }
                continue
            }
            switch byte {
            case UInt8(ascii: "\""):
                inString = true
            case UInt8(ascii: "{"), UInt8(ascii: "["):
                depth += 1
                sawRoot = true
            case UInt8(ascii: "}"), UInt8(ascii: "]"):
                depth -= 1
                if depth <= 0, sawRoot { isComplete = true }
            default:
                break
            }
        }
    }
}
