import CCrypto

/// A Lua script identified by the SHA-1 that `EVALSHA` expects.
public struct RedisScript: Sendable, Hashable {
    /// The Lua source, sent with `SCRIPT LOAD`.
    public let source: String
    /// Lowercase hex SHA-1 of `source`, as Redis computes it.
    public let sha1: String
    /// `sha1` as the bytes of an `EVALSHA` argument.
    let sha1Bytes: [UInt8]

    /// Creates a script and computes its SHA-1 with OpenSSL's low-level digest.
    public init(_ source: String) {
        self.source = source
        var digest = [UInt8](repeating: 0, count: Int(SHA_DIGEST_LENGTH))
        let bytes = Array(source.utf8)
        bytes.withUnsafeBufferPointer { input in
            digest.withUnsafeMutableBufferPointer { output in
                cg_sha1(input.baseAddress, input.count, output.baseAddress)
            }
        }
        self.sha1 = Hex.encode(digest)
        self.sha1Bytes = Array(sha1.utf8)
    }

    /// `SCRIPT LOAD <source>`: makes Redis know the script by its SHA-1.
    var loadCommand: [[UInt8]] { [Array("SCRIPT".utf8), Array("LOAD".utf8), Array(source.utf8)] }
}
