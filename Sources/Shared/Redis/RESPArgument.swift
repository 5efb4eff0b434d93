/// One argument of a Redis command as `RESPEncoder` writes it: bytes as they are, a string's UTF-8, or a number in
/// decimal. A hot command (the rate limiter's `EVALSHA`, once per request) is then encoded straight from its parts,
/// without a byte array made for each argument first.
public enum RESPArgument: Sendable, Equatable {
    case bytes([UInt8])
    case text(String)
    case decimal(Int)

    /// How many bytes the argument's value takes (its RESP framing not included).
    var byteCount: Int {
        switch self {
        case .bytes(let bytes): bytes.count
        case .text(let text): text.utf8.count
        case .decimal(let value): DecimalDigits.count(of: value.magnitude) + (value < 0 ? 1 : 0)
        }
    }

    /// Copies the value to `destination`, which has room for `byteCount` bytes.
    func copy(to destination: UnsafeMutableRawPointer) {
        switch self {
        case .bytes(let bytes):
            bytes.copy(to: destination)
        case .text(let text):
            text.withBorrowedUTF8 { RESPEncoder.copy(UnsafeRawBufferPointer($0), to: destination) }
        case .decimal(let value):
            var at = destination
            if value < 0 {
                at.storeBytes(of: UInt8(ascii: "-"), as: UInt8.self)
                at += 1
            }
            DecimalDigits.withDigits(of: value.magnitude) { digits in
                at.copyMemory(from: digits.baseAddress!, byteCount: digits.count)
            }
        }
    }
}
