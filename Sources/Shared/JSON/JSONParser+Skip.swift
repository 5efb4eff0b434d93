extension JSONParser {
    /// Moves past one value without building it, rejecting every document `parseValue` rejects: the same
    /// nesting limit, number and literal syntax, escapes, control characters and UTF-8 checks.
    ///
    /// `depth` is the depth of the container holding the value, as for `parseValue`.
    mutating func skipValue(depth: Int) throws {
        switch try peek() {
        case UInt8(ascii: "{"): try skipObject(depth: depth + 1)
        case UInt8(ascii: "["): try skipArray(depth: depth + 1)
        case UInt8(ascii: "\""): try skipString()
        case UInt8(ascii: "t"): _ = try expect("true", value: .null)
        case UInt8(ascii: "f"): _ = try expect("false", value: .null)
        case UInt8(ascii: "n"): _ = try expect("null", value: .null)
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): try skipNumber()
        case let byte: throw error(.unexpectedByte(byte))
        }
    }

    private mutating func skipObject(depth: Int) throws {
        if try openContainer(depth: depth, closing: UInt8(ascii: "}")) { return }
        repeat {
            skipWhitespace()
            guard try peek() == UInt8(ascii: "\"") else { throw error(.unexpectedByte(buffer[position])) }
            try skipString()
            try expectColon()
            try skipValue(depth: depth)
        } while try moreElements(closing: UInt8(ascii: "}"))
    }

    private mutating func skipArray(depth: Int) throws {
        if try openContainer(depth: depth, closing: UInt8(ascii: "]")) { return }
        repeat {
            skipWhitespace()
            try skipValue(depth: depth)
        } while try moreElements(closing: UInt8(ascii: "]"))
    }

    /// Past a string whose opening quote is at `position`.
    ///
    /// The raw text between the quotes is checked as UTF-8 in one piece. That accepts exactly what checking the
    /// decoded string accepts: escapes are ASCII in the raw text and whole characters once decoded, so neither can
    /// complete or break a multi-byte sequence around them.
    mutating func skipString() throws {
        position += 1
        let start = position
        var sawNonASCII = false
        while true {
            position = JSONEscapeScan.firstSpecialByte(in: buffer, from: position, sawNonASCII: &sawNonASCII)
            guard position < buffer.count else { throw error(.unexpectedEnd) }
            switch buffer[position] {
            case UInt8(ascii: "\""):
                if sawNonASCII, !UTF8Validator.isValid(UnsafeBufferPointer(rebasing: buffer[start..<position])) {
                    throw JSONParseError(reason: .invalidUTF8, offset: start)
                }
                position += 1
                return
            case UInt8(ascii: "\\"):
                position += 1
                try skipEscape()
            default:
                throw error(.controlCharacterInString)
            }
        }
    }

    private mutating func skipEscape() throws {
        guard position < buffer.count else { throw error(.unexpectedEnd) }
        switch buffer[position] {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"), UInt8(ascii: "b"), UInt8(ascii: "f"),
            UInt8(ascii: "n"), UInt8(ascii: "r"), UInt8(ascii: "t"):
            position += 1
        case UInt8(ascii: "u"):
            // Any four hex digits: the parser turns lone or mismatched surrogates into U+FFFD rather than failing.
            position += 1
            _ = try parseHex4()
        default:
            throw error(.invalidEscape)
        }
    }
}
