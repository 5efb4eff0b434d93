import NIOCore

/// Writes commands in RESP, the form Redis reads: `*<argc>\r\n` then `$<len>\r\n<bytes>\r\n` per argument.
enum RESPEncoder {
    /// Appends `command` to `buffer` in one write of its exact size: a write per piece would make the buffer check
    /// its capacity and its uniqueness about forty times for an `EVALSHA` of the rate limiter.
    static func write(_ command: [[UInt8]], into buffer: inout ByteBuffer) {
        let size = size(of: command)
        buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: size) { output in
            var at = 0
            at = put(header: UInt8(ascii: "*"), command.count, into: output, at: at)
            for argument in command {
                at = put(header: UInt8(ascii: "$"), argument.count, into: output, at: at)
                argument.withUnsafeBytes { bytes in
                    if let source = bytes.baseAddress, !bytes.isEmpty {
                        (output.baseAddress! + at).copyMemory(from: source, byteCount: bytes.count)
                    }
                }
                at += argument.count
                at = putLineEnd(into: output, at: at)
            }
            assert(at == size, "RESP size \(size) computed, \(at) written")
            return at
        }
    }

    /// The exact number of bytes `write` appends for `command`.
    static func size(of command: [[UInt8]]) -> Int {
        command.reduce(headerSize(command.count)) { $0 + headerSize($1.count) + $1.count + 2 }
    }

    /// `*<n>\r\n` or `$<n>\r\n`.
    private static func headerSize(_ value: Int) -> Int {
        var digits = 1
        var rest = value / 10
        while rest > 0 {
            digits += 1
            rest /= 10
        }
        return 1 + digits + 2
    }

    private static func put(header: UInt8, _ value: Int, into output: UnsafeMutableRawBufferPointer, at start: Int)
        -> Int
    {
        var at = start
        output[at] = header
        at += 1
        DecimalDigits.withDigits(of: UInt(clamping: value)) { digits in
            output.baseAddress!.advanced(by: at).copyMemory(from: digits.baseAddress!, byteCount: digits.count)
            at += digits.count
        }
        return putLineEnd(into: output, at: at)
    }

    private static func putLineEnd(into output: UnsafeMutableRawBufferPointer, at: Int) -> Int {
        output[at] = 0x0D
        output[at + 1] = 0x0A
        return at + 2
    }
}
