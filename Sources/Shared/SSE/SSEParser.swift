import Glibc

/// An incremental Server-Sent Events parser (the WHATWG algorithm, restricted to what chat APIs send).
///
/// `append` bytes as they arrive, then call `next()` until it returns nil. The same input fed whole, line by
/// line or byte by byte yields the same events. Multi-byte UTF-8 split across appends is safe because lines
/// are only decoded once complete.
public struct SSEParser {
    public struct Event: Equatable, Sendable {
        public var name: String?
        /// The event's data. An event of one `data:` line (what chat APIs send, one per chunk) is a slice of the
        /// parser's buffer, not a copy: drop it before the next call on the parser, or that call copies the buffer.
        /// Its indices are the buffer's, not zero-based.
        public var data: ArraySlice<UInt8>
    }

    /// Why a stream cannot be parsed.
    public enum ParseError: Error, Equatable {
        /// A line longer than the limit: a broken or hostile upstream; the gateway never buffers without bound.
        case lineTooLong(limit: Int)
    }

    private var buffer: [UInt8] = []
    private var readIndex = 0
    /// Where the search for the next line end resumes: every byte is examined once, however small the pieces a
    /// long line arrives in (rescanning from `readIndex` made a hostile 16 MiB line quadratic).
    private var scanIndex = 0
    private var eventName: String?
    /// The event's only `data:` line so far, where it sits in `buffer` (its value's bytes).
    private var dataLine: Range<Int>?
    /// The event's data once it has a second `data:` line (the lines joined with LF), or once its only line had to
    /// leave `buffer` (compaction) before the event ended.
    private var data: [UInt8] = []
    private var hasData = false
    private let maxLineBytes: Int

    public init(maxLineBytes: Int = 16 * 1024 * 1024) {
        self.maxLineBytes = maxLineBytes
    }

    public mutating func append(_ bytes: some Sequence<UInt8>) {
        buffer.append(contentsOf: bytes)
    }

    /// The same for an array, copied as one block (the generic version runs unspecialised from another module).
    public mutating func append(_ bytes: [UInt8]) {
        buffer.append(contentsOf: bytes)
    }

    /// Bytes received but not yet part of a complete line (the fuzz harness checks the writer's output leaves none).
    public var pendingByteCount: Int { buffer.count - readIndex }

    /// The next complete event, or nil when more bytes are needed.
    public mutating func next() throws -> Event? {
        while let lineEnd = findLineEnd() {
            let line = buffer[readIndex..<lineEnd.contentEnd]
            readIndex = lineEnd.next
            if let event = process(line: line) { return event }
        }
        compact()
        if buffer.count - readIndex > maxLineBytes { throw ParseError.lineTooLong(limit: maxLineBytes) }
        return nil
    }

    private mutating func findLineEnd() -> (contentEnd: Int, next: Int)? {
        let index = buffer.withUnsafeBufferPointer { Self.firstLineBreak(in: $0, from: max(readIndex, scanIndex)) }
        guard index < buffer.count else {
            scanIndex = index
            return nil
        }
        if buffer[index] == 0x0A {
            scanIndex = index + 1
            return (index, index + 1)
        }
        // CR LF must not be split across appends into two line ends: wait for the next byte.
        guard index + 1 < buffer.count else {
            scanIndex = index
            return nil
        }
        let next = buffer[index + 1] == 0x0A ? index + 2 : index + 1
        scanIndex = next
        return (index, next)
    }

    /// The index of the first LF or CR at or after `start`, or `bytes.count`. `memchr` looks at many bytes per step:
    /// at Cerebras speed every line of every chunk passes through here.
    private static func firstLineBreak(in bytes: UnsafeBufferPointer<UInt8>, from start: Int) -> Int {
        guard start < bytes.count, let base = bytes.baseAddress else { return bytes.count }
        let from = base + start
        let length = bytes.count - start
        // Chat APIs end lines with LF; a CR can only matter before the first LF.
        let lineFeed = memchr(from, 0x0A, length).map { UnsafeRawPointer($0) - UnsafeRawPointer(from) } ?? length
        let carriageReturn = memchr(from, 0x0D, lineFeed).map { UnsafeRawPointer($0) - UnsafeRawPointer(from) }
        return start + (carriageReturn ?? lineFeed)
    }

    private mutating func process(line: ArraySlice<UInt8>) -> Event? {
        if line.isEmpty {
            defer {
                eventName = nil
                dataLine = nil
                if !data.isEmpty { data.removeAll(keepingCapacity: true) }
                hasData = false
            }
            guard hasData else { return nil }
            if let dataLine { return Event(name: eventName, data: buffer[dataLine]) }
            return Event(name: eventName, data: data[...])
        }
        if line.first == UInt8(ascii: ":") { return nil }
        let colon = line.firstIndex(of: UInt8(ascii: ":"))
        let field = colon.map { line[line.startIndex..<$0] } ?? line
        var value = colon.map { line[($0 + 1)...] } ?? []
        if value.first == UInt8(ascii: " ") { value = value.dropFirst() }
        if Self.field(field, is: "data") {
            if !hasData {
                dataLine = value.startIndex..<value.endIndex
                hasData = true
            } else {
                keepDataLineOutOfBuffer()
                data.append(0x0A)
                data.append(contentsOf: value)
            }
        } else if Self.field(field, is: "event") {
            eventName = String(decoding: value, as: UTF8.self)
        }
        return nil
    }

    /// A byte comparison (the generic `elementsEqual` against a `String.UTF8View` costs more than the rest of a line).
    private static func field(_ field: ArraySlice<UInt8>, is name: StaticString) -> Bool {
        field.withUnsafeBufferPointer { $0.equals(name) }
    }

    /// Drops the bytes of the lines already read, once every complete line is: what remains is the start of one
    /// line, moved to the front once (a long line arriving in pieces is not moved again). Compacting after each
    /// event instead moved the rest of a large read once per event, and the line slice still alive then made the
    /// buffer shared, so each move was a copy into a new allocation.
    private mutating func compact() {
        // The event under way may have its data line in the bytes about to go.
        if readIndex > 0 { keepDataLineOutOfBuffer() }
        if readIndex == buffer.count {
            buffer.removeAll(keepingCapacity: true)
            readIndex = 0
            scanIndex = 0
        } else if readIndex > 0 {
            buffer.removeSubrange(0..<readIndex)
            scanIndex -= readIndex
            readIndex = 0
        }
    }

    /// Copies the event's data line out of `buffer` into `data` (a second line follows, or the line's bytes are
    /// about to be dropped).
    private mutating func keepDataLineOutOfBuffer() {
        guard let line = dataLine else { return }
        data.append(contentsOf: buffer[line])
        dataLine = nil
    }
}
