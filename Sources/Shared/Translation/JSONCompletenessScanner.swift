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
        guard !isComplete else { return }
        // A string's bytes in place (a fragment read from a chunk is a native string): no walk through its view.
        text.withBorrowedUTF8 { feed($0) }
    }

    private mutating func feed(_ bytes: UnsafeBufferPointer<UInt8>) {
        for byte in bytes {
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
                if depth <= 0, sawRoot {
                    isComplete = true
                    return
                }
            default:
                break
            }
        }
    }

    /// True when `text` is nothing but JSON's blanks (space, tab, line feed, carriage return), or empty: what the
    /// parser's `skipWhitespace` steps over.
    static func isBlank(_ text: String) -> Bool {
        text.withBorrowedUTF8 { bytes in
            var parser = JSONParser(buffer: bytes, maxDepth: 0)
            parser.skipWhitespace()
            return parser.position == bytes.count
        }
    }
}
