import CCrypto

/// SHA-256 through OpenSSL's libcrypto, and constant-time comparison of digests.
public enum SHA256Digest {
    public static func digest(_ bytes: some Collection<UInt8>) -> [UInt8] {
        let inPlace = bytes.withContiguousStorageIfAvailable { Self.digest(of: UnsafeRawBufferPointer($0)) }
        return inPlace ?? Array(bytes).withUnsafeBytes { Self.digest(of: $0) }
    }

    public static func digest(of bytes: UnsafeRawBufferPointer) -> [UInt8] {
        withDigestStorage { out in
            cg_sha256(bytes.baseAddress?.assumingMemoryBound(to: UInt8.self), bytes.count, out)
        }
    }

    /// The digest of a string's UTF-8 bytes (an API key as presented), read in place.
    public static func digest(utf8Of text: String) -> [UInt8] {
        text.withBorrowedUTF8 { digest(of: UnsafeRawBufferPointer($0)) }
    }

    /// The digest of the parts as if they were joined, without joining them.
    public static func digest(parts: [UnsafeRawBufferPointer]) -> [UInt8] {
        let starts = parts.map { $0.baseAddress }
        let lengths = parts.map { $0.count }
        return withDigestStorage { out in cg_sha256_parts(starts, lengths, parts.count, out) }
    }

    /// The 32 bytes `fill` writes, computed on the stack and then made an array: `Array(repeating:count:)` goes
    /// through an allocation entry point the standard library does not specialise (several hundred instructions).
    private static func withDigestStorage(_ fill: (UnsafeMutablePointer<UInt8>) -> Void) -> [UInt8] {
        var storage: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
        return withUnsafeMutableBytes(of: &storage) { out in
            fill(out.bindMemory(to: UInt8.self).baseAddress.unsafelyUnwrapped)
            return Array(UnsafeRawBufferPointer(out))
        }
    }

    public static func hex(_ bytes: some Collection<UInt8>) -> String {
        hexString(digest(bytes))
    }

    public static func hexString(_ bytes: [UInt8]) -> String {
        Hex.encode(bytes)
    }

    /// Parses 64 hex digits into 32 bytes.
    public static func parseHex(_ text: String) -> [UInt8]? {
        let utf8 = Array(text.utf8)
        guard utf8.count == 64 else { return nil }
        var bytes = [UInt8]()
        bytes.reserveCapacity(32)
        var index = 0
        while index < 64 {
            guard let high = nibble(utf8[index]), let low = nibble(utf8[index + 1]) else { return nil }
            bytes.append(high << 4 | low)
            index += 2
        }
        return bytes
    }

    private static func nibble(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return byte - UInt8(ascii: "A") + 10
        default: return nil
        }
    }

    /// Compares two byte strings in time independent of where they differ.
    public static func constantTimeEquals(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        a.withUnsafeBytes { left in b.withUnsafeBytes { right in constantTimeEquals(left, right) } }
    }

    /// The same for bytes in place. Strings of different lengths differ at once: the length is not hidden.
    public static func constantTimeEquals(_ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer) -> Bool {
        a.count == b.count && CRYPTO_memcmp(a.baseAddress, b.baseAddress, a.count) == 0
    }
}
