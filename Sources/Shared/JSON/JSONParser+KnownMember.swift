/// What a caller already knows of a top-level member's value, recognised by the bytes from the value's first byte.
public enum KnownMemberValue: Equatable, Sendable {
    /// The whole value, `length` bytes: stepped over unparsed and left out of the document.
    case whole(length: Int)
    /// The first `elements` elements of an array: the `length` bytes from its `[` through the end of the last of them
    /// are stepped over unparsed; the elements after them are parsed and are the member's value in the document.
    case leadingElements(elements: Int, length: Int)
}

/// How a top-level member offered to the caller came out of the parse.
public struct OfferedMember: Equatable, Sendable {
    /// Where its value is in the input.
    public var range: Range<Int>
    /// What the caller recognised of the value; nil when it was parsed whole.
    public var known: KnownMemberValue?
    /// For the member named to `parse` for it, when its value is an array the caller did not know whole: where each
    /// element parsed ends, as an offset from the value's first byte (elements stepped over as known are not listed).
    public var elementEnds: [Int]
}

/// A document whose top-level object may have had members' values, or their leading elements, recognised by their
/// bytes instead of parsed.
public struct JSONDocumentWithKnownMembers {
    /// The document, without what was recognised.
    public var root: JSONValue
    /// The offered members in the order of their keys, nil for a member the document does not have. When a member
    /// occurs more than once, the last occurrence is the one reported, as lookups find the last key.
    public var members: [OfferedMember?]
}

extension JSONParser {
    /// Parses a document as `parse(_:)` does, except that the values of the top-level members named in `keys` are
    /// first offered to `recognise` (with the index of their key and the bytes from the value's first byte on). When
    /// it answers, those bytes start with a value, or with the leading elements of an array, that the caller has
    /// parsed before, and they are stepped over unparsed.
    ///
    /// Only top-level members are offered, so a stepped-over value sits at the depth it had when it was first parsed
    /// and the nesting limit judges it the same. A document that is not an object parses as with `parse(_:)`.
    ///
    /// - Parameter elementEndsOf: the index in `keys` of the member whose array elements' ends are reported.
    public static func parse(
        _ bytes: some Collection<UInt8>, offering keys: [String], elementEndsOf: Int? = nil,
        recognise: (_ key: Int, _ bytes: UnsafeBufferPointer<UInt8>) -> KnownMemberValue?
    ) throws -> JSONDocumentWithKnownMembers {
        func parse(buffer: UnsafeBufferPointer<UInt8>) throws -> JSONDocumentWithKnownMembers {
            var parser = JSONParser(buffer: buffer, maxDepth: defaultMaxDepth)
            parser.skipWhitespace()
            var document: JSONDocumentWithKnownMembers
            if try parser.peek() == UInt8(ascii: "{") {
                document = try parser.parseTopLevelObject(offering: keys, elementEndsOf: elementEndsOf,
                                                          recognise: recognise)
            } else {
                document = JSONDocumentWithKnownMembers(
                    root: try parser.parseValue(depth: 0), members: Array(repeating: nil, count: keys.count))
            }
            parser.skipWhitespace()
            guard parser.position == buffer.count else { throw parser.error(.trailingData) }
            return document
        }
        if let document = try bytes.withContiguousStorageIfAvailable({ try parse(buffer: $0) }) {
            return document
        }
        return try Array(bytes).withUnsafeBufferPointer { try parse(buffer: $0) }
    }

    /// `parseObject` at depth 1, with the values of the members named in `keys` offered to `recognise` first.
    private mutating func parseTopLevelObject(
        offering keys: [String], elementEndsOf: Int?, recognise: (Int, UnsafeBufferPointer<UInt8>) -> KnownMemberValue?
    ) throws -> JSONDocumentWithKnownMembers {
        var document = JSONDocumentWithKnownMembers(root: .null, members: Array(repeating: nil, count: keys.count))
        if try openContainer(depth: 1, closing: UInt8(ascii: "}")) {
            document.root = .object(JSONObject([]))
            return document
        }
        var fields: [(key: String, value: JSONValue)] = []
        fields.reserveCapacity(16)
        repeat {
            skipWhitespace()
            guard try peek() == UInt8(ascii: "\"") else { throw error(.unexpectedByte(buffer[position])) }
            let key = try parseString()
            try expectColon()
            guard let offered = keys.firstIndex(of: key) else {
                fields.append((key, try parseValue(depth: 1)))
                continue
            }
            let start = position
            var member = OfferedMember(range: start..<start, known: nil, elementEnds: [])
            member.known = recognise(offered, UnsafeBufferPointer(rebasing: buffer[position...]))
            switch member.known {
            case .whole(let length)?:
                precondition(length > 0 && length <= buffer.count - start, "a known value of \(length) bytes")
                position += length
            case .leadingElements(let elements, let length)?:
                precondition(elements > 0 && length > 1 && length <= buffer.count - start,
                             "\(elements) known elements in \(length) bytes")
                position += length
                var rest: [JSONValue] = []
                if try moreElements(closing: UInt8(ascii: "]")) {
                    try parseElements(into: &rest, ends: &member.elementEnds, from: start)
                }
                fields.append((key, .array(rest)))
            case nil:
                if offered == elementEndsOf, try peek() == UInt8(ascii: "[") {
                    var elements: [JSONValue] = []
                    if try !openContainer(depth: 2, closing: UInt8(ascii: "]")) {
                        try parseElements(into: &elements, ends: &member.elementEnds, from: start)
                    }
                    fields.append((key, .array(elements)))
                } else {
                    fields.append((key, try parseValue(depth: 1)))
                }
            }
            member.range = start..<position
            document.members[offered] = member
        } while try moreElements(closing: UInt8(ascii: "}"))
        document.root = .object(JSONObject(fields))
        return document
    }

    /// The elements of a top-level member's array from the one at `position` through its `]`, noting where each
    /// ends as an offset from `origin` (the array's `[`).
    private mutating func parseElements(into elements: inout [JSONValue], ends: inout [Int], from origin: Int) throws {
        repeat {
            skipWhitespace()
            elements.append(try parseValue(depth: 2))
            ends.append(position - origin)
        } while try moreElements(closing: UInt8(ascii: "]"))
    }
}
