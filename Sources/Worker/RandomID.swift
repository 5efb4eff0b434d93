/// Random identifiers for requests, messages and tool calls (`req_…`, `msg_…`, `toolu_…`).
enum RandomID {
    private static let alphabet = Array("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz".utf8)

    /// 24 base-62 characters carry 142 bits. Each 64-bit draw yields 10 characters (62^10 < 2^64, with the tiny
    /// modulo bias irrelevant for identifiers), so an id costs three draws rather than one per character.
    static func make(prefix: String, length: Int = 24) -> String {
        var generator = SystemRandomNumberGenerator()
        var bytes = Array(prefix.utf8)
        bytes.reserveCapacity(bytes.count + length)
        var remaining = length
        while remaining > 0 {
            var value = generator.next()
            for _ in 0..<min(10, remaining) {
                bytes.append(alphabet[Int(value % 62)])
                value /= 62
            }
            remaining -= min(10, remaining)
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
