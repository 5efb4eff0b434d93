import Glibc
import NIOCore

/// A client connection's bytes as HTTP/1.1 requests (RFC 9112): each request's head, its body in the pieces it
/// arrived in (slices of what was read, not copies), and its end; requests sent back to back follow one another.
/// Incremental: `append` what the connection read, then take `next()` until it is nil.
///
/// The gateway's own, in place of NIO's `HTTPRequestDecoder`, which made a `String` of every name and value of
/// every field and a `HTTPHeaders` of them: the gateway acts on six fields and forwards none (BENCHMARKS.md,
/// "Fifty-first round"). The head is found whole before it is read (`ClientRequestHead.parse`), so a head that
/// arrives a byte at a time is searched once, not parsed again at every byte.
public struct RequestParser {
    public enum Part {
        case head(ClientRequestHead)
        case body(ByteBuffer)
        case end
    }

    private enum State {
        case head
        /// The head said there is no body.
        case endOfRequest
        case fixedBody(remaining: Int)
        case chunkSize
        case chunkData(remaining: Int)
        /// The CR LF after a chunk's data.
        case chunkDataEnd
        case trailers(bytesSeen: Int)
        case failed(RequestParseError)
    }

    /// The longest head, in bytes (`MAX_HEADER_BYTES`); also bounds a chunked body's trailer section.
    private let maxHeadBytes: Int
    /// What was read and not yet parsed; nil when nothing is left, so the read's buffer is not held.
    private var buffer: ByteBuffer?
    private var state = State.head
    /// How many bytes of the head under way have been searched for its end, and where the line being searched
    /// began: a head arriving a few bytes at a time is searched once.
    private var searched = 0
    private var searchedLineStart = 0

    /// A chunk-size line longer than this (hex digits and extensions) is refused.
    private static let maxChunkSizeLine = 4096

    public init(maxHeadBytes: Int) {
        self.maxHeadBytes = maxHeadBytes
    }

    /// Bytes read and not yet parsed (a pipelined request's, while the one before it is answered).
    public var hasUnparsedBytes: Bool { buffer != nil }

    public mutating func append(_ bytes: ByteBuffer) {
        guard bytes.readableBytes > 0 else { return }
        if buffer == nil {
            buffer = bytes
        } else {
            var bytes = bytes
            buffer!.writeBuffer(&bytes)
        }
    }

    /// Drops what was read and not parsed (the connection is closing).
    public mutating func discardUnparsed() {
        buffer = nil
    }

    /// The next part, nil until more bytes arrive. After an error, throws it again.
    public mutating func next() throws(RequestParseError) -> Part? {
        do {
            let part = try nextPart()
            if buffer?.readableBytes == 0 { buffer = nil }
            return part
        } catch {
            // Every error thrown below is a `RequestParseError`; ByteBuffer's closures only pass them on untyped.
            let failure = error as? RequestParseError ?? .malformed
            state = .failed(failure)
            buffer = nil
            throw failure
        }
    }

    /// The framing lines of a chunked body (sizes, the CR LF after each chunk's data, trailers) are consumed in a
    /// loop, not by recursion: a trailer section can hold thousands of lines.
    private mutating func nextPart() throws -> Part? {
        while true {
            switch state {
            case .failed(let error):
                throw error
            case .endOfRequest:
                state = .head
                return .end
            case .head:
                return try nextHead()
            case .fixedBody(let remaining):
                guard let piece = takeBody(upTo: remaining) else { return nil }
                let left = remaining - piece.readableBytes
                state = left == 0 ? .endOfRequest : .fixedBody(remaining: left)
                return .body(piece)
            case .chunkData(let remaining):
                guard let piece = takeBody(upTo: remaining) else { return nil }
                let left = remaining - piece.readableBytes
                state = left == 0 ? .chunkDataEnd : .chunkData(remaining: left)
                return .body(piece)
            case .chunkSize:
                guard let size = try takeLine(limit: Self.maxChunkSizeLine, Self.chunkSize) else { return nil }
                state = size == 0 ? .trailers(bytesSeen: 0) : .chunkData(remaining: size)
            case .chunkDataEnd:
                guard let ended = try takeLine(limit: 2, { line in line.isEmpty }) else { return nil }
                guard ended else { throw RequestParseError.malformed }
                state = .chunkSize
            case .trailers(let bytesSeen):
                // Trailer fields are checked like header fields and dropped: the gateway acts on none.
                guard bytesSeen < maxHeadBytes else { throw RequestParseError.malformed }
                guard let length = try takeLine(limit: maxHeadBytes - bytesSeen, { line -> Int in
                    if !line.isEmpty { _ = try ClientRequestHead.splitField(line) }
                    return line.count
                }) else { return nil }
                state = length == 0 ? .endOfRequest : .trailers(bytesSeen: bytesSeen + length + 2)
            }
        }
    }

    /// The head, once its empty line has arrived. Empty lines (CR LF) before a request line are skipped (RFC 9112
    /// §2.2).
    private mutating func nextHead() throws -> Part? {
        guard var bytes = buffer else { return nil }
        if searched == 0 {
            while let first = bytes.getInteger(at: bytes.readerIndex, endianness: .big, as: UInt16.self),
                  first == 0x0D0A {
                bytes.moveReaderIndex(forwardBy: 2)
            }
            // A CR that may begin another empty line waits for its LF.
            if bytes.readableBytes == 1, bytes.getInteger(at: bytes.readerIndex, as: UInt8.self) == 0x0D {
                buffer = bytes
                return nil
            }
        }
        let found = try bytes.withUnsafeReadableBytes { raw -> (ClientRequestHead, Int)? in
            guard let end = try findHeadEnd(raw) else { return nil }
            return (try ClientRequestHead.parse(UnsafeRawBufferPointer(rebasing: raw[..<end.linesLength])),
                    end.length)
        }
        guard let (head, length) = found else {
            buffer = bytes
            return nil
        }
        bytes.moveReaderIndex(forwardBy: length)
        buffer = bytes
        searched = 0
        searchedLineStart = 0
        if head.isChunked {
            state = .chunkSize
        } else if let length = head.contentLength, length > 0 {
            state = .fixedBody(remaining: length)
        } else {
            state = .endOfRequest
        }
        return .head(head)
    }

    /// Where the head ends: the length of its lines (up to the empty line) and of the whole head (with that line).
    /// Searches on from where the last search stopped, within the first `maxHeadBytes` bytes: a head not ended
    /// there is too large, and a bare LF is malformed at once, so the bytes give the same error whatever pieces
    /// they arrive in.
    private mutating func findHeadEnd(_ raw: UnsafeRawBufferPointer) throws -> (linesLength: Int, length: Int)? {
        let window = min(raw.count, maxHeadBytes)
        var position = searched
        var lineStart = searchedLineStart
        while position < window, let newline = try Self.lineFeed(in: raw, from: position, to: window) {
            if newline - lineStart == 1 {
                searched = 0
                searchedLineStart = 0
                return (lineStart, newline + 1)
            }
            lineStart = newline + 1
            position = newline + 1
        }
        guard raw.count <= maxHeadBytes else { throw RequestParseError.headTooLarge }
        searched = window
        searchedLineStart = lineStart
        return nil
    }

    /// Up to `limit` bytes of body, as a slice of what was read; nil when nothing is waiting.
    private mutating func takeBody(upTo limit: Int) -> ByteBuffer? {
        guard var bytes = buffer, bytes.readableBytes > 0 else { return nil }
        let piece = bytes.readSlice(length: min(limit, bytes.readableBytes))
        buffer = bytes
        return piece
    }

    /// The next line (without its CR LF) given to `read`, and consumed; nil until its LF has arrived. A line longer
    /// than `limit`, or ended by a bare LF, is malformed.
    private mutating func takeLine<Result>(
        limit: Int, _ read: (UnsafeRawBufferPointer) throws -> Result
    ) throws -> Result? {
        guard var bytes = buffer else { return nil }
        let taken = try bytes.withUnsafeReadableBytes { raw -> (Result, Int)? in
            let window = min(raw.count, limit + 2)
            guard let newline = try Self.lineFeed(in: raw, from: 0, to: window) else {
                guard raw.count < limit + 2 else { throw RequestParseError.malformed }
                return nil
            }
            return (try read(UnsafeRawBufferPointer(rebasing: raw[..<(newline - 1)])), newline + 1)
        }
        guard let (result, length) = taken else { return nil }
        bytes.moveReaderIndex(forwardBy: length)
        buffer = bytes
        return result
    }

    /// Where the first LF of `raw[start..<end]` is, nil when there is none. An LF not after a CR (a bare LF) is
    /// malformed: RFC 9112 lets a recipient take it for a line end, and two parsers that disagree on it can be made
    /// to read different requests.
    private static func lineFeed(in raw: UnsafeRawBufferPointer, from start: Int,
                                 to end: Int) throws(RequestParseError) -> Int? {
        guard let base = raw.baseAddress,
              let found = memchr(base + start, Int32(UInt8(ascii: "\n")), end - start) else { return nil }
        let newline = base.distance(to: UnsafeRawPointer(found))
        guard newline > 0, raw[newline - 1] == UInt8(ascii: "\r") else { throw .malformed }
        return newline
    }

    /// `chunk-size *( BWS ";" BWS ext-name [ BWS "=" BWS ext-value ] )` (RFC 9112 §7.1.1): the size in hex (at most
    /// 15 digits); the extensions are checked and dropped.
    private static func chunkSize(_ line: UnsafeRawBufferPointer) throws(RequestParseError) -> Int {
        var size = 0
        var index = 0
        while index < line.count, let digit = line[index].hexDigitValue {
            guard index < 15 else { throw .malformed }
            size = size << 4 | Int(digit)
            index += 1
        }
        guard index > 0 else { throw .malformed }
        try checkExtensions(UnsafeRawBufferPointer(rebasing: line[index...]))
        return size
    }

    /// Chunk extensions: each a `;`, a token, and optionally `=` and a token or a quoted string.
    private static func checkExtensions(_ bytes: UnsafeRawBufferPointer) throws(RequestParseError) {
        var index = 0
        func skipWhitespace() { while index < bytes.count, HTTPByteClass.isWhitespace(bytes[index]) { index += 1 } }
        func token() throws(RequestParseError) {
            let start = index
            while index < bytes.count, HTTPByteClass.isTokenByte(bytes[index]) { index += 1 }
            guard index > start else { throw .malformed }
        }
        while index < bytes.count {
            skipWhitespace()
            guard index < bytes.count, bytes[index] == UInt8(ascii: ";") else { throw .malformed }
            index += 1
            skipWhitespace()
            try token()
            // Whitespace after a name only before its `=`.
            let nameEnd = index
            skipWhitespace()
            guard index < bytes.count, bytes[index] == UInt8(ascii: "=") else {
                index = nameEnd
                continue
            }
            index += 1
            skipWhitespace()
            if index < bytes.count, bytes[index] == UInt8(ascii: "\"") {
                index += 1
                while index < bytes.count, bytes[index] != UInt8(ascii: "\"") {
                    guard HTTPByteClass.isFieldValueByte(bytes[index]) else { throw .malformed }
                    // A quoted pair: the backslash and the byte it quotes.
                    index += bytes[index] == UInt8(ascii: "\\") ? 2 : 1
                }
                guard index < bytes.count else { throw .malformed }
                index += 1
            } else {
                try token()
            }
        }
    }
}
