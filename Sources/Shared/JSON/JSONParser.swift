/// Why a document is not valid JSON, with the byte offset where parsing stopped.
public struct JSONParseError: Error, Equatable, CustomStringConvertible {
    public enum Reason: Equatable, Sendable {
        case unexpectedEnd
        case unexpectedByte(UInt8)
        case invalidNumber
        case invalidEscape
        case invalidUTF8
        case controlCharacterInString
        case tooDeep(limit: Int)
        case trailingData
    }

    public let reason: Reason
    public let offset: Int

    public var description: String {
        switch reason {
        case .unexpectedEnd: return "unexpected end of JSON input"
        case .unexpectedByte(let byte):
            let shown = byte >= 0x20 && byte < 0x7F ? "'\(Character(Unicode.Scalar(byte)))'" : "0x\(String(byte, radix: 16))"
            return "unexpected character \(shown) at offset \(offset)"
        case .invalidNumber: return "invalid number at offset \(offset)"
        case .invalidEscape: return "invalid escape sequence at offset \(offset)"
        case .invalidUTF8: return "invalid UTF-8 at offset \(offset)"
        case .controlCharacterInString: return "unescaped control character in string at offset \(offset)"
        case .tooDeep(let limit): return "JSON nested deeper than \(limit) levels"
        case .trailingData: return "unexpected data after the JSON value at offset \(offset)"
        }
    }
}

/// A strict RFC 8259 parser producing `JSONValue`, iterative in its depth checks so hostile nesting
/// cannot overflow the stack (the recursion is bounded by `maxDepth`).
public struct JSONParser {
    public static let defaultMaxDepth = 256

    public static func parse(_ bytes: some Collection<UInt8>, maxDepth: Int = defaultMaxDepth) throws -> JSONValue {
        if let value = try bytes.withContiguousStorageIfAvailable({ try parse(buffer: $0, maxDepth: maxDepth) }) {
            return value
        }
        let copy = Array(bytes)
        return try copy.withUnsafeBufferPointer { try parse(buffer: $0, maxDepth: maxDepth) }
    }

    public static func parse(_ text: String, maxDepth: Int = defaultMaxDepth) throws -> JSONValue {
        var text = text
        return try text.withUTF8 { try parse(buffer: $0, maxDepth: maxDepth) }
    }

    static func parse(buffer: UnsafeBufferPointer<UInt8>, maxDepth: Int) throws -> JSONValue {
        var parser = JSONParser(buffer: buffer, maxDepth: maxDepth)
        parser.skipWhitespace()
        let value = try parser.parseValue(depth: 0)
        parser.skipWhitespace()
        guard parser.position == buffer.count else { throw parser.error(.trailingData) }
        return value
    }

    // Internal rather than private: `JSONParser+Skip` and `StreamChunkScanner` read documents with these primitives.
    let buffer: UnsafeBufferPointer<UInt8>
    let maxDepth: Int
    var position = 0

    init(buffer: UnsafeBufferPointer<UInt8>, maxDepth: Int) {
        self.buffer = buffer
        self.maxDepth = maxDepth
    }

    func error(_ reason: JSONParseError.Reason) -> JSONParseError {
        JSONParseError(reason: reason, offset: position)
    }

    mutating func skipWhitespace() {
        while position < buffer.count {
            switch buffer[position] {
            case 0x20, 0x09, 0x0A, 0x0D: position += 1
            default: return
            }
        }
    }

    func peek() throws -> UInt8 {
        guard position < buffer.count else { throw error(.unexpectedEnd) }
        return buffer[position]
    }

    mutating func expect(_ literal: StaticString, value: JSONValue) throws -> JSONValue {
        let count = literal.utf8CodeUnitCount
        guard position + count <= buffer.count else { throw error(.unexpectedEnd) }
        let start = literal.utf8Start
        for offset in 0..<count where buffer[position + offset] != start[offset] {
            position += offset
            throw error(.unexpectedByte(buffer[position]))
        }
        position += count
        return value
    }

    mutating func parseValue(depth: Int) throws -> JSONValue {
        switch try peek() {
        case UInt8(ascii: "{"): return try parseObject(depth: depth + 1)
        case UInt8(ascii: "["): return try parseArray(depth: depth + 1)
        case UInt8(ascii: "\""): return .string(try parseString())
        case UInt8(ascii: "t"): return try expect("true", value: .bool(true))
        case UInt8(ascii: "f"): return try expect("false", value: .bool(false))
        case UInt8(ascii: "n"): return try expect("null", value: .null)
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try parseNumber()
        case let byte: throw error(.unexpectedByte(byte))
        }
    }

    private mutating func parseObject(depth: Int) throws -> JSONValue {
        if try openContainer(depth: depth, closing: UInt8(ascii: "}")) { return .object(JSONObject([])) }
        var fields: [(key: String, value: JSONValue)] = []
        // Most objects and arrays in requests hold a few members: one allocation instead of growing 1, 2, 4.
        fields.reserveCapacity(4)
        repeat {
            skipWhitespace()
            guard try peek() == UInt8(ascii: "\"") else { throw error(.unexpectedByte(buffer[position])) }
            let key = try parseString()
            try expectColon()
            fields.append((key, try parseValue(depth: depth)))
        } while try moreElements(closing: UInt8(ascii: "}"))
        return .object(JSONObject(fields))
    }

    private mutating func parseArray(depth: Int) throws -> JSONValue {
        if try openContainer(depth: depth, closing: UInt8(ascii: "]")) { return .array([]) }
        var elements: [JSONValue] = []
        elements.reserveCapacity(4)  // as for objects
        repeat {
            skipWhitespace()
            elements.append(try parseValue(depth: depth))
        } while try moreElements(closing: UInt8(ascii: "]"))
        return .array(elements)
    }

    /// Past a container's opening byte, within the nesting limit. True when the container is empty, and then past
    /// its `closing` byte too. Shared by the parser and `skipValue`, which must accept exactly the same documents.
    @inline(__always)
    mutating func openContainer(depth: Int, closing: UInt8) throws -> Bool {
        guard depth <= maxDepth else { throw error(.tooDeep(limit: maxDepth)) }
        position += 1
        skipWhitespace()
        guard try peek() == closing else { return false }
        position += 1
        return true
    }

    /// After one of a container's elements: true past a `,` (another follows), false past `closing` (the end).
    @inline(__always)
    mutating func moreElements(closing: UInt8) throws -> Bool {
        skipWhitespace()
        switch try peek() {
        case UInt8(ascii: ","):
            position += 1
            return true
        case closing:
            position += 1
            return false
        case let byte: throw error(.unexpectedByte(byte))
        }
    }

    /// Past the `:` after an object member's key (and the whitespace around it).
    @inline(__always)
    mutating func expectColon() throws {
        skipWhitespace()
        guard try peek() == UInt8(ascii: ":") else { throw error(.unexpectedByte(buffer[position])) }
        position += 1
        skipWhitespace()
    }

    mutating func parseNumber() throws -> JSONValue {
        let start = position
        try skipNumber()
        return .number(String(decoding: UnsafeBufferPointer(rebasing: buffer[start..<position]), as: UTF8.self))
    }

    /// Past a number starting at `position`, checking its syntax.
    mutating func skipNumber() throws {
        if buffer[position] == UInt8(ascii: "-") { position += 1 }
        guard position < buffer.count else { throw error(.invalidNumber) }
        if buffer[position] == UInt8(ascii: "0") {
            position += 1
        } else if isDigit(buffer[position]) {
            while position < buffer.count, isDigit(buffer[position]) { position += 1 }
        } else {
            throw error(.invalidNumber)
        }
        if position < buffer.count, buffer[position] == UInt8(ascii: ".") {
            position += 1
            guard position < buffer.count, isDigit(buffer[position]) else { throw error(.invalidNumber) }
            while position < buffer.count, isDigit(buffer[position]) { position += 1 }
        }
        if position < buffer.count, buffer[position] == UInt8(ascii: "e") || buffer[position] == UInt8(ascii: "E") {
            position += 1
            if position < buffer.count, buffer[position] == UInt8(ascii: "+") || buffer[position] == UInt8(ascii: "-") {
                position += 1
            }
            guard position < buffer.count, isDigit(buffer[position]) else { throw error(.invalidNumber) }
            while position < buffer.count, isDigit(buffer[position]) { position += 1 }
        }
    }

    private func isDigit(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") }

    mutating func parseString() throws -> String {
        position += 1
        let start = position
        var sawNonASCII = false
        position = JSONEscapeScan.firstSpecialByte(in: buffer, from: position, sawNonASCII: &sawNonASCII)
        guard position < buffer.count else { throw error(.unexpectedEnd) }
        switch buffer[position] {
        case UInt8(ascii: "\""):
            position += 1
            if !sawNonASCII, let common = CommonJSONStrings.string(in: buffer, start..<position - 1) { return common }
            return try Self.string(fromUTF8: UnsafeBufferPointer(rebasing: buffer[start..<position - 1]),
                                   validating: sawNonASCII, start: start)
        case UInt8(ascii: "\\"):
            return try parseEscapedString(from: start, sawNonASCII: sawNonASCII)
        default:
            throw error(.controlCharacterInString)
        }
    }

    /// The rest of a string whose content starts at `start` and which has an escape at `position`. Kept apart from
    /// `parseString` so that strings without escapes (nearly all of them) skip it.
    ///
    /// Escapes only ever shorten a string (`\n` is one byte, `\uXXXX` at most three), so the string's raw length,
    /// found first by skipping over each escape, is room enough: the bytes are then decoded straight into the
    /// `String`'s own storage (made in place up to 15 bytes), with no buffer of their own and a bound check a run and
    /// an escape. The decoding checks everything and throws where the byte-by-byte parse would.
    private mutating func parseEscapedString(from start: Int, sawNonASCII: Bool) throws -> String {
        let room = rawStringLength(from: start)
        var sawNonASCII = sawNonASCII
        return try String(unsafeUninitializedCapacity: room) { decoded in
            guard let out = decoded.baseAddress else { return 0 }
            // Bytes produced by escapes are well-formed UTF-8 by construction: only raw bytes need checking.
            var written = 0
            var runStart = start
            while true {
                let runLength = position &- runStart
                if runLength > 0 {
                    // Never false (the decoded bytes never outrun the input), but kept: the input is a client's.
                    guard written &+ runLength <= decoded.count else { throw error(.unexpectedEnd) }
                    (out + written).update(from: buffer.baseAddress.unsafelyUnwrapped + runStart, count: runLength)
                    written &+= runLength
                }
                switch buffer[position] {
                case UInt8(ascii: "\""):
                    position += 1
                    let bytes = UnsafeBufferPointer(start: out, count: written)
                    guard !sawNonASCII || UTF8Validator.isValid(bytes) else {
                        throw JSONParseError(reason: .invalidUTF8, offset: start)
                    }
                    return written
                case UInt8(ascii: "\\"):
                    position += 1
                    try decodeEscape(into: decoded, at: &written)
                    runStart = position
                default:
                    throw error(.controlCharacterInString)
                }
                position = JSONEscapeScan.firstSpecialByte(in: buffer, from: position, sawNonASCII: &sawNonASCII)
                guard position < buffer.count else { throw error(.unexpectedEnd) }
            }
        }
    }

    private static func string(
        fromUTF8 bytes: UnsafeBufferPointer<UInt8>, validating: Bool, start: Int
    ) throws -> String {
        guard !validating || UTF8Validator.isValid(bytes) else {
            throw JSONParseError(reason: .invalidUTF8, offset: start)
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// The bytes from `start` to the closing quote of the string whose first escape is at `position` (to the end of
    /// the buffer or the first control byte when the string is malformed, which decoding then reports), each
    /// escape passed over whole.
    private func rawStringLength(from start: Int) -> Int {
        var index = position
        while index < buffer.count, buffer[index] == UInt8(ascii: "\\") {
            index = JSONEscapeScan.firstSpecialByte(in: buffer, from: min(index &+ 2, buffer.count))
        }
        return index &- start
    }

    /// Decodes the escape whose backslash precedes `position` into `out` at `written`: never more bytes than the
    /// escape takes in the input.
    private mutating func decodeEscape(into out: UnsafeMutableBufferPointer<UInt8>, at written: inout Int) throws {
        guard position < buffer.count else { throw error(.unexpectedEnd) }
        let byte = buffer[position]
        position += 1
        let decoded: UInt8
        switch byte {
        case UInt8(ascii: "\""): decoded = 0x22
        case UInt8(ascii: "\\"): decoded = 0x5C
        case UInt8(ascii: "/"): decoded = 0x2F
        case UInt8(ascii: "b"): decoded = 0x08
        case UInt8(ascii: "f"): decoded = 0x0C
        case UInt8(ascii: "n"): decoded = 0x0A
        case UInt8(ascii: "r"): decoded = 0x0D
        case UInt8(ascii: "t"): decoded = 0x09
        case UInt8(ascii: "u"):
            var scalar = try parseHex4()
            if (0xD800..<0xDC00).contains(scalar) {
                // A high surrogate must be followed by an escaped low surrogate; a lone one becomes U+FFFD,
                // as JavaScript's JSON.parse would keep it and UTF-8 cannot carry it.
                if position + 1 < buffer.count, buffer[position] == UInt8(ascii: "\\"),
                    buffer[position + 1] == UInt8(ascii: "u")
                {
                    let save = position
                    position += 2
                    let low = try parseHex4()
                    if (0xDC00..<0xE000).contains(low) {
                        scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                    } else {
                        position = save
                        scalar = 0xFFFD
                    }
                } else {
                    scalar = 0xFFFD
                }
            } else if (0xDC00..<0xE000).contains(scalar) {
                scalar = 0xFFFD
            }
            let unicode = Unicode.Scalar(scalar) ?? "\u{FFFD}"
            guard written &+ UTF8.width(unicode) <= out.count else { throw error(.unexpectedEnd) }
            UTF8.encode(unicode) { byte in
                out[written] = byte
                written &+= 1
            }
            return
        default:
            position -= 1
            throw error(.invalidEscape)
        }
        guard written < out.count else { throw error(.unexpectedEnd) }
        out[written] = decoded
        written &+= 1
    }

    mutating func parseHex4() throws -> UInt32 {
        guard position + 4 <= buffer.count else { throw error(.unexpectedEnd) }
        var value: UInt32 = 0
        for _ in 0..<4 {
            guard let digit = buffer[position].hexDigitValue else { throw error(.invalidEscape) }
            value = value << 4 | UInt32(digit)
            position += 1
        }
        return value
    }
}
