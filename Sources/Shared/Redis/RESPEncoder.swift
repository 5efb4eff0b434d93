import NIOCore

/// What `RESPEncoder` can write as one argument of a command: its size and a copy of its bytes.
protocol RESPEncodable {
    var byteCount: Int { get }
    func copy(to destination: UnsafeMutableRawPointer)
}

extension RESPArgument: RESPEncodable {}

extension Array: RESPEncodable where Element == UInt8 {
    var byteCount: Int { count }

    func copy(to destination: UnsafeMutableRawPointer) {
        withUnsafeBytes { RESPEncoder.copy($0, to: destination) }
    }
}

/// Writes commands in RESP, the form Redis reads: `*<argc>\r\n` then `$<len>\r\n<bytes>\r\n` per argument.
enum RESPEncoder {
    /// Appends `command` to `buffer` in one write of its exact size: a write per piece would make the buffer check
    /// its capacity and its uniqueness about forty times for an `EVALSHA` of the rate limiter.
    static func write<Argument: RESPEncodable>(_ command: [Argument], into buffer: inout ByteBuffer) {
        let size = size(of: command)
        buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: size) { output in
            var at = 0
            at = put(header: UInt8(ascii: "*"), command.count, into: output, at: at)
            for argument in command {
                let count = argument.byteCount
                at = put(header: UInt8(ascii: "$"), count, into: output, at: at)
                argument.copy(to: output.baseAddress! + at)
                at += count
                at = putLineEnd(into: output, at: at)
            }
            assert(at == size, "RESP size \(size) computed, \(at) written")
            return at
        }
    }

    /// The exact number of bytes `write` appends for `command`.
    static func size<Argument: RESPEncodable>(of command: [Argument]) -> Int {
        command.reduce(headerSize(command.count)) { total, argument in
            let count = argument.byteCount
            return total + headerSize(count) + count + 2
        }
    }

    /// Copies `source` to `destination` (an argument's bytes into the command being written).
    static func copy(_ source: UnsafeRawBufferPointer, to destination: UnsafeMutableRawPointer) {
        if let base = source.baseAddress { destination.copyMemory(from: base, byteCount: source.count) }
    }

    /// `*<n>\r\n` or `$<n>\r\n`.
    private static func headerSize(_ value: Int) -> Int {
        1 + DecimalDigits.count(of: UInt(clamping: value)) + 2
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
