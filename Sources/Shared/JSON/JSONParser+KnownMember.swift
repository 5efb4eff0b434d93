/// A document whose top-level object may have had one member's value recognised by its bytes instead of parsed.
public struct JSONDocumentWithKnownMember {
    /// The document; when `memberWasKnown`, without the recognised member.
    public var root: JSONValue
    /// Where the value of the last occurrence of the member is in the input, when the member is there.
    public var memberRange: Range<Int>?
    /// True when that last value was recognised by `parse(_:knownMember:length:)`'s callback and left unparsed.
    public var memberWasKnown: Bool
}

extension JSONParser {
    /// Parses a document as `parse(_:)` does, except that the value of the top-level member named `member` is first
    /// offered to `knownLength`: when it answers a length, the bytes from the value's first byte on start with a value
    /// the caller has parsed before (so exactly that many bytes are that value), and they are skipped unparsed.
    ///
    /// Only a top-level member is offered, so a skipped value sits at the depth it had when it was first parsed and
    /// the nesting limit judges it the same. A document that is not an object parses as with `parse(_:)`. When the
    /// member occurs more than once, the last occurrence is the one reported, as lookups find the last key.
    public static func parse(
        _ bytes: some Collection<UInt8>, knownMember member: String,
        length knownLength: (UnsafeBufferPointer<UInt8>) -> Int?
    ) throws -> JSONDocumentWithKnownMember {
        func parse(buffer: UnsafeBufferPointer<UInt8>) throws -> JSONDocumentWithKnownMember {
            var parser = JSONParser(buffer: buffer, maxDepth: defaultMaxDepth)
            parser.skipWhitespace()
            var document: JSONDocumentWithKnownMember
            if try parser.peek() == UInt8(ascii: "{") {
                document = try parser.parseTopLevelObject(knownMember: member, length: knownLength)
            } else {
                document = JSONDocumentWithKnownMember(
                    root: try parser.parseValue(depth: 0), memberRange: nil, memberWasKnown: false)
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

    /// `parseObject` at depth 1, with `member`'s value offered to `knownLength` first.
    private mutating func parseTopLevelObject(
        knownMember member: String, length knownLength: (UnsafeBufferPointer<UInt8>) -> Int?
    ) throws -> JSONDocumentWithKnownMember {
        var document = JSONDocumentWithKnownMember(root: .null, memberRange: nil, memberWasKnown: false)
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
            let start = position
            let isMember = key == member
            if isMember {
                let rest = UnsafeBufferPointer(rebasing: buffer[position...])
                if let length = knownLength(rest) {
                    precondition(length > 0 && length <= rest.count, "a known value of \(length) bytes in \(rest.count)")
                    position += length
                    document.memberRange = start..<position
                    document.memberWasKnown = true
                    continue
                }
            }
            fields.append((key, try parseValue(depth: 1)))
            if isMember {
                document.memberRange = start..<position
                document.memberWasKnown = false
            }
        } while try moreElements(closing: UInt8(ascii: "}"))
        document.root = .object(JSONObject(fields))
        return document
    }
}
