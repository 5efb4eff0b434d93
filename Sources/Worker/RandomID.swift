/// Random identifiers for requests, messages and tool calls (`req_…`, `msg_…`, `toolu_…`).
enum RandomID {
    private static let alphabet = Array("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz".utf8)

    static func make(prefix: String, length: Int = 24) -> String {
        var generator = SystemRandomNumberGenerator()
        var bytes = Array(prefix.utf8)
        bytes.reserveCapacity(bytes.count + length)
        for _ in 0..<length { bytes.append(alphabet[Int(generator.next(upperBound: UInt64(alphabet.count)))]) }
        return String(decoding: bytes, as: UTF8.self)
    }
}
