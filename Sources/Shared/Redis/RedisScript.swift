import CCrypto

/// A Lua script identified by the SHA-1 that `EVALSHA` expects.
public struct RedisScript: Sendable, Hashable {
    /// The Lua source, sent with `SCRIPT LOAD`.
    public let source: String
    /// Lowercase hex SHA-1 of `source`, as Redis computes it.
    public let sha1: String

    /// Creates a script and computes its SHA-1 with OpenSSL.
    public init(_ source: String) {
        self.source = source
        var digest = [UInt8](repeating: 0, count: Int(SHA_DIGEST_LENGTH))
        let bytes = Array(source.utf8)
        bytes.withUnsafeBufferPointer { input in
            digest.withUnsafeMutableBufferPointer { output in
                _ = SHA1(input.baseAddress, input.count, output.baseAddress)
            }
        }
        self.sha1 = Self.lowercaseHex(digest)
    }

    private static func lowercaseHex(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var text = [UInt8]()
        text.reserveCapacity(bytes.count * 2)
        for byte in bytes {
            text.append(digits[Int(byte >> 4)])
            text.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: text, as: UTF8.self)
    }
}
