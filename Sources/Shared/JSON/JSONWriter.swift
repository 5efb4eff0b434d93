/// Appends compact JSON to a byte array. Used on the hot path instead of `JSONEncoder`: a stream event is a
/// handful of `append` calls, with no intermediate dictionaries.
public struct JSONWriter {
    public var bytes: [UInt8]

    public init(capacity: Int = 256) {
        bytes = []
        bytes.reserveCapacity(capacity)
    }

    @inlinable
    public mutating func raw(_ literal: StaticString) {
        bytes.append(contentsOf: UnsafeBufferPointer(start: literal.utf8Start, count: literal.utf8CodeUnitCount))
    }

    /// Text known to be valid JSON in place (a number's text, an enum's raw value), copied as it is. Named apart from
    /// `raw(_:)` so that literals take the `StaticString` path, which copies one block instead of going byte by byte.
    public mutating func rawText(_ text: String) {
        bytes.append(contentsOf: text.utf8)
    }

    /// The decimal digits, written in place (no intermediate String).
    public mutating func int(_ value: Int) {
        if value < 0 { bytes.append(UInt8(ascii: "-")) }
        DecimalDigits.withDigits(of: value.magnitude) { bytes.append(contentsOf: $0) }
    }

    public mutating func double(_ value: Double) {
        rawText(JSONWriter.format(value))
    }

    public mutating func bool(_ value: Bool) {
        value ? raw("true") : raw("false")
    }

    public mutating func string(_ value: String) {
        bytes.append(UInt8(ascii: "\""))
        value.withBorrowedUTF8 { appendEscaping($0) }
        bytes.append(UInt8(ascii: "\""))
    }

    private mutating func appendEscaping(_ utf8: UnsafeBufferPointer<UInt8>) {
        var runStart = 0
        while true {
            let special = JSONEscapeScan.firstSpecialByte(in: utf8, from: runStart)
            bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[runStart..<special]))
            guard special < utf8.count else { break }
            appendEscaped(utf8[special])
            runStart = special + 1
        }
    }

    private static func hexDigit(_ nibble: UInt8) -> UInt8 {
        nibble < 10 ? UInt8(ascii: "0") + nibble : UInt8(ascii: "a") + nibble - 10
    }

    private mutating func appendEscaped(_ byte: UInt8) {
        switch byte {
        case UInt8(ascii: "\""): raw("\\\"")
        case UInt8(ascii: "\\"): raw("\\\\")
        case 0x0A: raw("\\n")
        case 0x0D: raw("\\r")
        case 0x09: raw("\\t")
        case 0x08: raw("\\b")
        case 0x0C: raw("\\f")
        default:
            raw("\\u00")
            bytes.append(Self.hexDigit(byte >> 4))
            bytes.append(Self.hexDigit(byte & 0xF))
        }
    }

    public mutating func value(_ value: JSONValue) {
        switch value {
        case .null: raw("null")
        case .bool(let flag): bool(flag)
        case .number(let text): rawText(text)
        case .string(let text): string(text)
        case .array(let elements):
            bytes.append(UInt8(ascii: "["))
            for (index, element) in elements.enumerated() {
                if index > 0 { bytes.append(UInt8(ascii: ",")) }
                self.value(element)
            }
            bytes.append(UInt8(ascii: "]"))
        case .object(let object):
            bytes.append(UInt8(ascii: "{"))
            for (index, field) in object.fields.enumerated() {
                if index > 0 { bytes.append(UInt8(ascii: ",")) }
                string(field.key)
                bytes.append(UInt8(ascii: ":"))
                self.value(field.value)
            }
            bytes.append(UInt8(ascii: "}"))
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
        return writer.bytes
    }

    public var serializedString: String { String(decoding: serialized, as: UTF8.self) }
}
