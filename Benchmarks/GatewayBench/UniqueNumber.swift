import NIOCore

/// `--unique`: a counter written as fixed-width decimal digits over a placeholder in the request body, so every
/// request differs from every other without re-serialising it.
struct UniqueNumber {
    static let digits = 16
    private var next: UInt64

    init(start: UInt64) {
        next = start
    }

    mutating func write(into body: inout ByteBuffer, at offset: Int) {
        var value = next
        next &+= 1
        var position = offset + Self.digits
        for _ in 0..<Self.digits {
            position -= 1
            body.setInteger(UInt8(ascii: "0") + UInt8(value % 10), at: body.readerIndex + position)
            value /= 10
        }
    }
}
