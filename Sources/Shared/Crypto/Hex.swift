/// Lowercase hexadecimal text of bytes (digests, script SHAs).
public enum Hex {
    /// Written straight into the string's storage: this names the tenant of every authenticated request.
    public static func encode(_ bytes: [UInt8]) -> String {
        String(unsafeUninitializedCapacity: bytes.count * 2) { output in
            let digits: StaticString = "0123456789abcdef"
            let table = digits.utf8Start
            var end = 0
            for byte in bytes {
                output[end] = table[Int(byte >> 4)]
                output[end + 1] = table[Int(byte & 0x0F)]
                end += 2
            }
            return end
        }
    }
}
