/// Appends compact JSON to a byte buffer. Used on the hot path instead of `JSONEncoder`: a stream event is a
/// handful of `append` calls, with no intermediate dictionaries.
///
/// The bytes written are `storage[..<count]`; the rest of `storage` is zeroed room for the next writes. Swift arrays
/// cannot grow over uninitialised capacity, and `Array.append(contentsOf:)` went through its generic path for every
/// piece (about 120 instructions, most of the cost of writing a short string or a literal); a write here is a room
/// check and one copy.
public struct JSONWriter: Sendable {
    private var storage: [UInt8] = []
    /// How many bytes have been written.
    public private(set) var count = 0

    /// A writer with room for `capacity` bytes before it first grows (none allocated for 0).
    public init(capacity: Int = 256) {
        if capacity > 0 { storage = Self.zeroedRoom(capacity: capacity) }
    }

    /// A writer that goes on from `bytes`, with room for `room` more before it first grows.
    public init(startingWith bytes: UnsafeRawBufferPointer, room: Int) {
        storage = Self.zeroedRoom(capacity: bytes.count + Swift.max(room, 1), keeping: bytes)
        count = bytes.count
    }

    public var isEmpty: Bool { count == 0 }

    /// The bytes written, handed over: the writer is empty afterwards (and allocates anew if written to again).
    public mutating func takeBytes() -> [UInt8] {
        storage.removeLast(storage.count - count)
        let bytes = storage
        storage = []
        count = 0
        return bytes
    }

    /// Calls `body` with the bytes written so far, without copying them.
    public func withBytes<Result>(_ body: (UnsafeRawBufferPointer) throws -> Result) rethrows -> Result {
        try storage.withUnsafeBytes { try body(UnsafeRawBufferPointer(rebasing: $0[..<count])) }
    }

    /// Forgets the bytes written, keeping the room for the next ones.
    public mutating func removeAll() {
        count = 0
    }

    // MARK: - Bytes in

    /// Bytes known to be valid JSON in place (a document written before), copied as they are.
    public mutating func rawBytes(_ bytes: UnsafeRawBufferPointer) {
        guard let source = bytes.baseAddress, !bytes.isEmpty else { return }
        makeRoom(bytes.count)
        let at = count
        storage.withUnsafeMutableBytes { room in
            room.baseAddress.unsafelyUnwrapped.advanced(by: at).copyMemory(from: source, byteCount: bytes.count)
        }
        count = at &+ bytes.count
    }

    public mutating func rawBytes(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { rawBytes($0) }
    }

    @inline(__always)
    private mutating func byte(_ byte: UInt8) {
        makeRoom(1)
        storage[count] = byte
        count &+= 1
    }

    /// Makes room for at least `additional` more bytes at once (a caller that knows roughly how much it will write).
    public mutating func reserve(_ additional: Int) {
        makeRoom(additional)
    }

    @inline(__always)
    private mutating func makeRoom(_ needed: Int) {
        if storage.count &- count < needed { grow(toFit: needed) }
    }

    /// Room at least twice as large, holding the bytes written: growth is amortised as an array's is.
    @inline(never)
    private mutating func grow(toFit needed: Int) {
        let capacity = Swift.max(count + needed, 2 * storage.count, 256)
        let written = count
        storage = storage.withUnsafeBytes {
            Self.zeroedRoom(capacity: capacity, keeping: UnsafeRawBufferPointer(rebasing: $0[..<written]))
        }
    }

    /// An array holding `kept`, then zeros up to its whole capacity (at least `capacity`). Made by reserving and
    /// appending: `Array(repeating:count:)` goes through an allocation entry point that the standard library does
    /// not specialise, and costs several hundred instructions more.
    private static func zeroedRoom(capacity: Int, keeping kept: UnsafeRawBufferPointer? = nil) -> [UInt8] {
        var room: [UInt8] = []
        room.reserveCapacity(capacity)
        if let kept { room.append(contentsOf: kept) }
        room.append(contentsOf: repeatElement(0, count: room.capacity - room.count))
        return room
    }

    // MARK: - JSON out

    public mutating func raw(_ literal: StaticString) {
        rawBytes(UnsafeRawBufferPointer(literal: literal))
    }

    /// Text known to be valid JSON in place (a number's text, an enum's raw value), copied as it is. Named apart from
    /// `raw(_:)` so that literals take the `StaticString` path.
    public mutating func rawText(_ text: String) {
        text.withBorrowedUTF8 { rawBytes(UnsafeRawBufferPointer($0)) }
    }

    /// The decimal digits, written in place (no intermediate String).
    public mutating func int(_ value: Int) {
        if value < 0 { byte(UInt8(ascii: "-")) }
        DecimalDigits.withDigits(of: value.magnitude) { rawBytes($0) }
    }

    public mutating func double(_ value: Double) {
        rawText(JSONWriter.format(value))
    }

    public mutating func bool(_ value: Bool) {
        value ? raw("true") : raw("false")
    }

    public mutating func string(_ value: String) {
        value.withBorrowedUTF8 { utf8 in
            let firstSpecial = JSONEscapeScan.firstSpecialByte(in: utf8, from: 0)
            guard firstSpecial == utf8.count else {
                if utf8.count <= Self.escapeInPlaceLimit {
                    appendQuotedEscapingInPlace(utf8, firstSpecial: firstSpecial)
                    return
                }
                byte(UInt8(ascii: "\""))
                appendEscaping(utf8, firstSpecial: firstSpecial)
                byte(UInt8(ascii: "\""))
                return
            }
            // Nothing to escape (nearly every string): the quotes and the bytes in one go.
            makeRoom(utf8.count &+ 2)
            let at = count
            storage.withUnsafeMutableBufferPointer { room in
                let start = room.baseAddress.unsafelyUnwrapped + at
                start.pointee = UInt8(ascii: "\"")
                if let source = utf8.baseAddress { (start + 1).update(from: source, count: utf8.count) }
                start[utf8.count &+ 1] = UInt8(ascii: "\"")
            }
            count = at &+ utf8.count &+ 2
        }
    }

    /// Strings up to this many bytes are escaped in room made for their worst case (six bytes a byte): a streamed
    /// chunk's text or a tool call's fragment, a line of a prompt. Longer ones get room run by run, so that a
    /// megabyte with one newline does not ask for six.
    static let escapeInPlaceLimit = 4096

    /// The string quoted and escaped through one pointer into room for its worst case: the runs between escapes
    /// copied, each escape written as its bytes, no call per run or per escape.
    private mutating func appendQuotedEscapingInPlace(_ utf8: UnsafeBufferPointer<UInt8>, firstSpecial: Int) {
        let source = utf8.baseAddress.unsafelyUnwrapped  // not empty: it has a byte to escape
        makeRoom(utf8.count &* 6 &+ 2)
        let start = count
        count = storage.withUnsafeMutableBufferPointer { room in
            let out = room.baseAddress.unsafelyUnwrapped
            var at = start
            out[at] = UInt8(ascii: "\"")
            at &+= 1
            var runStart = 0
            var special = firstSpecial
            while true {
                let runLength = special &- runStart
                (out + at).update(from: source + runStart, count: runLength)
                at &+= runLength
                guard special < utf8.count else { break }
                at = Self.writeEscaped(utf8[special], to: out, at: at)
                runStart = special &+ 1
                special = JSONEscapeScan.firstSpecialByte(in: utf8, from: runStart)
            }
            out[at] = UInt8(ascii: "\"")
            return at &+ 1
        }
    }

    /// Writes the escape for `byte` (a quote, a backslash or a control byte) at `at`; returns the index after it.
    @inline(__always)
    private static func writeEscaped(_ byte: UInt8, to out: UnsafeMutablePointer<UInt8>, at: Int) -> Int {
        let short: UInt8
        switch byte {
        case UInt8(ascii: "\""): short = UInt8(ascii: "\"")
        case UInt8(ascii: "\\"): short = UInt8(ascii: "\\")
        case 0x0A: short = UInt8(ascii: "n")
        case 0x0D: short = UInt8(ascii: "r")
        case 0x09: short = UInt8(ascii: "t")
        case 0x08: short = UInt8(ascii: "b")
        case 0x0C: short = UInt8(ascii: "f")
        default:
            out[at] = UInt8(ascii: "\\")
            out[at &+ 1] = UInt8(ascii: "u")
            out[at &+ 2] = UInt8(ascii: "0")
            out[at &+ 3] = UInt8(ascii: "0")
            out[at &+ 4] = hexDigit(byte >> 4)
            out[at &+ 5] = hexDigit(byte & 0xF)
            return at &+ 6
        }
        out[at] = UInt8(ascii: "\\")
        out[at &+ 1] = short
        return at &+ 2
    }

    /// A string longer than `escapeInPlaceLimit`, escaped with room made run by run and escape by escape.
    private mutating func appendEscaping(_ utf8: UnsafeBufferPointer<UInt8>, firstSpecial: Int) {
        var runStart = 0
        var special = firstSpecial
        while true {
            rawBytes(UnsafeRawBufferPointer(UnsafeBufferPointer(rebasing: utf8[runStart..<special])))
            guard special < utf8.count else { break }
            appendEscaped(utf8[special])
            runStart = special + 1
            special = JSONEscapeScan.firstSpecialByte(in: utf8, from: runStart)
        }
    }

    private static func hexDigit(_ nibble: UInt8) -> UInt8 {
        nibble < 10 ? UInt8(ascii: "0") + nibble : UInt8(ascii: "a") + nibble - 10
    }

    private mutating func appendEscaped(_ byte: UInt8) {
        makeRoom(6)
        let at = count
        count = storage.withUnsafeMutableBufferPointer { room in
            Self.writeEscaped(byte, to: room.baseAddress.unsafelyUnwrapped, at: at)
        }
    }

    public mutating func value(_ value: JSONValue) {
        switch value {
        case .null: raw("null")
        case .bool(let flag): bool(flag)
        case .number(let text): rawText(text)
        case .string(let text): string(text)
        case .array(let elements):
            byte(UInt8(ascii: "["))
            for (index, element) in elements.enumerated() {
                if index > 0 { byte(UInt8(ascii: ",")) }
                self.value(element)
            }
            byte(UInt8(ascii: "]"))
        case .object(let object):
            byte(UInt8(ascii: "{"))
            for (index, field) in object.fields.enumerated() {
                if index > 0 { byte(UInt8(ascii: ",")) }
                string(field.key)
                byte(UInt8(ascii: ":"))
                self.value(field.value)
            }
            byte(UInt8(ascii: "}"))
        }
    }

    /// Shortest round-tripping text for a double; integral values print without a fraction.
    public static func format(_ value: Double) -> String {
        guard value.isFinite else { return "null" }
        if value.rounded() == value, abs(value) < 1e15 { return String(Int(value)) }
        return "\(value)"
    }
}

extension JSONValue {
    /// Compact serialisation, keys in their original order.
    public var serialized: [UInt8] {
        var writer = JSONWriter()
        writer.value(self)
        return writer.takeBytes()
    }

    public var serializedString: String { String(decoding: serialized, as: UTF8.self) }
}
