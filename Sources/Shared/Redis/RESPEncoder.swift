import NIOCore

/// Writes commands in RESP, the form Redis reads: `*<argc>\r\n` then `$<len>\r\n<bytes>\r\n` per argument.
enum RESPEncoder {
    static func write(_ command: [[UInt8]], into buffer: inout ByteBuffer) {
        buffer.writeInteger(UInt8(ascii: "*"))
        writeDecimal(command.count, into: &buffer)
        for argument in command {
            buffer.writeInteger(UInt8(ascii: "$"))
            writeDecimal(argument.count, into: &buffer)
            buffer.writeBytes(argument)
            writeLineEnd(into: &buffer)
        }
    }

    /// The size `write` will need, so a batch is written into one buffer without growing it.
    static func size(of command: [[UInt8]]) -> Int {
        command.reduce(16) { $0 + $1.count + 16 }
    }

    private static func writeDecimal(_ value: Int, into buffer: inout ByteBuffer) {
        DecimalDigits.withDigits(of: UInt(clamping: value)) { buffer.writeBytes($0) }
        writeLineEnd(into: &buffer)
    }

    private static func writeLineEnd(into buffer: inout ByteBuffer) {
        buffer.writeInteger(UInt16(0x0D0A))  // "\r\n", big-endian
    }
}
