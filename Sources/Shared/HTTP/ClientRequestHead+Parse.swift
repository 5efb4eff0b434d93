import Glibc
import NIOHTTP1

/// Why a client's bytes are not a request the gateway takes.
public enum RequestParseError: Error, Equatable, Sendable {
    /// Not an HTTP/1.0 or HTTP/1.1 request as RFC 9112 writes one, or framed in a way that two parsers could read
    /// differently (`Content-Length` with `Transfer-Encoding`, a second `Content-Length`, a coding other than
    /// chunked): 400, and the connection closes.
    case malformed
    /// The head is longer than `MAX_HEADER_BYTES`: 431, and the connection closes.
    case headTooLarge
}

extension ClientRequestHead {
    /// Parses a head's lines: the request line and the header fields, each ended by CR LF, without the empty line
    /// that ends the head. Strict where a lenient reading could be a smuggling vector (RFC 9112 §11.2): no bare LF
    /// (NIO's parser, which the workers used before, refused it too), no whitespace before a field's colon, no line
    /// folding, no control bytes, one framing.
    public static func parse(_ head: UnsafeRawBufferPointer) throws(RequestParseError) -> ClientRequestHead {
        var lines = HeadLines(head)
        guard let requestLine = try lines.next() else { throw .malformed }
        let (method, uri, version) = try parseRequestLine(UnsafeRawBufferPointer(rebasing: head[requestLine]))
        var parsed = ClientRequestHead(method: method, uri: uri, version: version, isKeepAlive: version.minor >= 1)
        var saysClose = false
        var saysKeepAlive = false
        while let line = try lines.next() {
            let (name, value) = try splitField(UnsafeRawBufferPointer(rebasing: head[line]))
            try parsed.take(name: name, value: value, close: &saysClose, keepAlive: &saysKeepAlive)
        }
        if parsed.isChunked {
            // Either framing could be believed by a proxy in front (RFC 9112 §6.3); HTTP/1.0 has no chunked coding.
            guard parsed.contentLength == nil, version.minor >= 1 else { throw .malformed }
        }
        parsed.isKeepAlive = !saysClose && (version.minor >= 1 || saysKeepAlive)
        return parsed
    }

    /// One field: the framing and connection fields are checked and read, the client's key fields kept, the others
    /// only checked (by `splitField`).
    private mutating func take(name: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer,
                               close: inout Bool, keepAlive: inout Bool) throws(RequestParseError) {
        let name = Self.bytes(name)
        switch name.count {
        case 6 where name.equalsIgnoringASCIICase("expect"):
            expectsContinue = Self.bytes(value).equalsIgnoringASCIICase("100-continue")
        case 9 where name.equalsIgnoringASCIICase("x-api-key"):
            if apiKey == nil { apiKey = String(decoding: value, as: UTF8.self) }
        case 10 where name.equalsIgnoringASCIICase("connection"):
            Self.forEachToken(value) { token in
                if token.equalsIgnoringASCIICase("close") { close = true }
                if token.equalsIgnoringASCIICase("keep-alive") { keepAlive = true }
            }
        case 13 where name.equalsIgnoringASCIICase("authorization"):
            if authorization == nil { authorization = String(decoding: value, as: UTF8.self) }
        case 14 where name.equalsIgnoringASCIICase("content-length"):
            guard contentLength == nil, let length = Self.decimal(value) else { throw .malformed }
            contentLength = length
        case 17 where name.equalsIgnoringASCIICase("transfer-encoding"):
            guard !isChunked, Self.bytes(value).equalsIgnoringASCIICase("chunked") else { throw .malformed }
            isChunked = true
        default:
            break
        }
    }

    /// `method SP request-target SP HTTP/1.x`: a method NIO names (its `HTTPMethod` cases, llhttp's list) and a
    /// target in origin form (`/…`) or `*`.
    private static func parseRequestLine(
        _ line: UnsafeRawBufferPointer
    ) throws(RequestParseError) -> (HTTPMethod, String, HTTPVersion) {
        var index = 0
        while index < line.count, HTTPByteClass.isTokenByte(line[index]) { index += 1 }
        let methodEnd = index
        guard methodEnd > 0, index < line.count, line[index] == UInt8(ascii: " ") else { throw .malformed }
        index += 1
        let targetStart = index
        while index < line.count, HTTPByteClass.isTargetByte(line[index]) { index += 1 }
        let isAsterisk = index == targetStart + 1 && line[targetStart] == UInt8(ascii: "*")
        guard index > targetStart, index < line.count, line[index] == UInt8(ascii: " "),
              line[targetStart] == UInt8(ascii: "/") || isAsterisk
        else { throw .malformed }
        let target = UnsafeRawBufferPointer(rebasing: line[targetStart..<index])
        let version = UnsafeRawBufferPointer(rebasing: line[(index + 1)...])
        let minor: Int
        if bytes(version).equals("HTTP/1.1") {
            minor = 1
        } else if bytes(version).equals("HTTP/1.0") {
            minor = 0
        } else {
            throw .malformed
        }
        let method = Self.method(UnsafeRawBufferPointer(rebasing: line[..<methodEnd]))
        if case .RAW = method { throw .malformed }
        return (method, String(decoding: target, as: UTF8.self), HTTPVersion(major: 1, minor: minor))
    }

    /// The common methods without a `String` compare; others as NIO names them (`.RAW` for one it does not know).
    private static func method(_ token: UnsafeRawBufferPointer) -> HTTPMethod {
        let token = bytes(token)
        if token.equals("POST") { return .POST }
        if token.equals("GET") { return .GET }
        if token.equals("HEAD") { return .HEAD }
        return HTTPMethod(rawValue: String(decoding: token, as: UTF8.self))
    }

    /// `field-name ":" OWS field-value OWS`: the name (a token, nothing between it and the colon) and the value
    /// without its surrounding whitespace, every byte of it a visible character, a space, a tab or non-ASCII.
    static func splitField(
        _ line: UnsafeRawBufferPointer
    ) throws(RequestParseError) -> (name: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer) {
        var index = 0
        while index < line.count, HTTPByteClass.isTokenByte(line[index]) { index += 1 }
        // A line starting with whitespace is obsolete line folding; whitespace before the colon is refused outright.
        guard index > 0, index < line.count, line[index] == UInt8(ascii: ":") else { throw .malformed }
        let name = UnsafeRawBufferPointer(rebasing: line[..<index])
        var start = index + 1
        var end = line.count
        while start < end, HTTPByteClass.isWhitespace(line[start]) { start += 1 }
        while end > start, HTTPByteClass.isWhitespace(line[end - 1]) { end -= 1 }
        let value = UnsafeRawBufferPointer(rebasing: line[start..<end])
        guard HTTPByteClass.isFieldValue(value) else { throw .malformed }
        return (name, value)
    }

    /// A `Content-Length` value: digits only (no sign, no list), at most 18 of them.
    private static func decimal(_ value: UnsafeRawBufferPointer) -> Int? {
        guard !value.isEmpty, value.count <= 18 else { return nil }
        var result = 0
        for byte in value {
            guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return nil }
            result = result * 10 + Int(byte - UInt8(ascii: "0"))
        }
        return result
    }

    /// The comma-separated tokens of a list value, without their surrounding whitespace.
    private static func forEachToken(_ value: UnsafeRawBufferPointer, _ body: (UnsafeBufferPointer<UInt8>) -> Void) {
        let all = bytes(value)
        var start = 0
        while start <= all.count {
            var end = start
            while end < all.count, all[end] != UInt8(ascii: ",") { end += 1 }
            var first = start
            var last = end
            while first < last, HTTPByteClass.isWhitespace(all[first]) { first += 1 }
            while last > first, HTTPByteClass.isWhitespace(all[last - 1]) { last -= 1 }
            if last > first { body(UnsafeBufferPointer(rebasing: all[first..<last])) }
            start = end + 1
        }
    }

    private static func bytes(_ raw: UnsafeRawBufferPointer) -> UnsafeBufferPointer<UInt8> {
        UnsafeBufferPointer(start: raw.baseAddress?.assumingMemoryBound(to: UInt8.self), count: raw.count)
    }
}

/// The lines of a head: each without its CR LF.
private struct HeadLines {
    private let bytes: UnsafeRawBufferPointer
    private var position = 0

    init(_ bytes: UnsafeRawBufferPointer) {
        self.bytes = bytes
    }

    /// The next line's range, nil at the end. A CR anywhere but before the LF is left in the line, where every check
    /// refuses it.
    mutating func next() throws(RequestParseError) -> Range<Int>? {
        guard position < bytes.count, let base = bytes.baseAddress else { return nil }
        let start = position
        var end = bytes.count
        if let found = memchr(base + start, Int32(UInt8(ascii: "\n")), bytes.count - start) {
            end = base.distance(to: UnsafeRawPointer(found))
        }
        position = end + 1
        guard end > start, bytes[end - 1] == UInt8(ascii: "\r") else { throw .malformed }
        return start..<(end - 1)
    }
}

/// The byte classes of RFC 9110's grammar the parser checks, by arithmetic and a bit mask: no table to load.
enum HTTPByteClass {
    /// `tchar` (RFC 9110 §5.6.2): letters, digits and ``!#$%&'*+-.^_`|~``, one bit per byte value below 64 and
    /// below 128. Checked by `testTokenMasksHoldExactlyTheTokenCharacters`.
    static let tokenBitsBelow64: UInt64 = 0x03FF_6CFA_0000_0000
    static let tokenBitsBelow128: UInt64 = 0x57FF_FFFF_C7FF_FFFE

    @inline(__always) static func isTokenByte(_ byte: UInt8) -> Bool {
        if byte < 64 { return tokenBitsBelow64 >> UInt64(byte) & 1 != 0 }
        if byte < 128 { return tokenBitsBelow128 >> UInt64(byte - 64) & 1 != 0 }
        return false
    }

    /// Visible ASCII: a request target is sent percent-encoded.
    @inline(__always) static func isTargetByte(_ byte: UInt8) -> Bool { byte &- 0x21 < 0x7F - 0x21 }

    /// Visible ASCII, space, tab, and obs-text (bytes of UTF-8 and other encodings, passed through): anything but
    /// the other control bytes and DEL.
    @inline(__always) static func isFieldValueByte(_ byte: UInt8) -> Bool {
        (byte >= 0x20 && byte != 0x7F) || byte == 0x09
    }

    /// Whether every byte is `isFieldValueByte`: eight at a time, a byte at a time only where a word holds a control
    /// byte or DEL (a tab, or a byte to refuse).
    static func isFieldValue(_ bytes: UnsafeRawBufferPointer) -> Bool {
        let ones: UInt64 = 0x0101_0101_0101_0101
        let highBits = ones &* 0x80
        var index = 0
        while index &+ 8 <= bytes.count {
            let word = bytes.loadUnaligned(fromByteOffset: index, as: UInt64.self)
            // A byte below 0x20, or a byte equal to 0x7F (zero once XORed with it), sets its high bit here.
            let belowSpace = (word &- ones &* 0x20) & ~word & highBits
            let del = word ^ (ones &* 0x7F)
            let isDel = (del &- ones) & ~del & highBits
            if belowSpace | isDel != 0 {
                for offset in index..<index &+ 8 where !isFieldValueByte(bytes[offset]) { return false }
            }
            index &+= 8
        }
        while index < bytes.count {
            guard isFieldValueByte(bytes[index]) else { return false }
            index &+= 1
        }
        return true
    }

    @inline(__always) static func isWhitespace(_ byte: UInt8) -> Bool {
        byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t")
    }
}
