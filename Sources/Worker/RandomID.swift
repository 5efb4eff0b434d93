import Glibc

/// Random identifiers for requests, messages and tool calls (`req_…`, `msg_…`, `toolu_…`).
enum RandomID {
    private static let alphabet = Array("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz".utf8)

    /// 24 base-62 characters carry 142 bits. Each 64-bit draw yields 10 characters (62^10 < 2^64, with the tiny
    /// modulo bias irrelevant for identifiers). The draws come from glibc's `arc4random_buf` (a per-thread
    /// ChaCha20 generator seeded by the kernel), one call per id: the standard library's generator costs a
    /// `getrandom` system call for every 64 bits.
    static func make(prefix: String, length: Int = 24) -> String {
        var draws: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
        let drawCount = (length + 9) / 10
        precondition(drawCount <= 4, "ids are at most 40 characters")
        var bytes = Array(prefix.utf8)
        bytes.reserveCapacity(bytes.count + length)
        withUnsafeMutableBytes(of: &draws) { raw in
            arc4random_buf(raw.baseAddress!, drawCount * 8)
            let values = raw.bindMemory(to: UInt64.self)
            var remaining = length
            for index in 0..<drawCount {
                var value = values[index]
                for _ in 0..<min(10, remaining) {
                    bytes.append(alphabet[Int(value % 62)])
                    value /= 62
                }
                remaining -= min(10, remaining)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
