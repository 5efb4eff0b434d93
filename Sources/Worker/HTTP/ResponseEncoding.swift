import NIOCore
import NIOHTTP1
import Shared

/// The bytes of the worker's HTTP/1.1 responses, written straight into the buffer that goes to the socket.
///
/// The connection handler frames its responses itself rather than through NIO's response encoder and pipelining
/// handler: at Cerebras speed those two cost more per streamed chunk than translating the chunk did, and the
/// pipelining handler stopped and restarted reading around every response (two `epoll_ctl` calls per request).
enum ResponseEncoding {
    /// How the end of a response's body is marked.
    enum Framing: Equatable {
        /// A `content-length` of this many bytes (a HEAD response announces the GET body's length).
        case contentLength(Int)
        /// `transfer-encoding: chunked`: each write is one chunk, then `lastChunk`.
        case chunked
        /// Neither: the body ends when the connection closes (a stream to an HTTP/1.0 client).
        case untilClose
    }

    static let continueHead: StaticString = "HTTP/1.1 100 Continue\r\n\r\n"
    /// The answer to bytes that are not HTTP: nothing after it can be trusted, so the connection closes.
    static let badRequest: StaticString = "HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
    static let lastChunk: StaticString = "0\r\n\r\n"

    /// Appends the status line and the header section. The framing fields come from `framing` and `close`: any
    /// `content-length`, `transfer-encoding` or `connection` field in `headers` is left out, as is a field whose name
    /// or value could break the section (CR, LF or NUL: an upstream's value must not split the response).
    static func writeHead(status: HTTPResponseStatus, headers: HTTPHeaders, framing: Framing, close: Bool,
                          into buffer: inout ByteBuffer) {
        buffer.writeStaticString("HTTP/1.1 ")
        writeDecimal(Int(status.code), into: &buffer)
        buffer.writeInteger(UInt8(ascii: " "))
        buffer.writeString(status.reasonPhrase)
        buffer.writeStaticString("\r\n")
        for (name, value) in headers where isWritable(name) && isWritable(value) && !isFramingField(name) {
            buffer.writeString(name)
            buffer.writeStaticString(": ")
            buffer.writeString(value)
            buffer.writeStaticString("\r\n")
        }
        switch framing {
        case .contentLength(let length):
            buffer.writeStaticString("content-length: ")
            writeDecimal(length, into: &buffer)
            buffer.writeStaticString("\r\n")
        case .chunked:
            buffer.writeStaticString("transfer-encoding: chunked\r\n")
        case .untilClose:
            break
        }
        if close { buffer.writeStaticString("connection: close\r\n") }
        buffer.writeStaticString("\r\n")
    }

    /// Appends one chunk of a chunked body: its size in hex, the bytes, CRLF. An empty chunk would end the body, so
    /// nothing is written for no bytes.
    static func writeChunk(_ bytes: [UInt8], into buffer: inout ByteBuffer) {
        guard !bytes.isEmpty else { return }
        var digits = 0
        var rest = bytes.count
        while rest > 0 {
            digits += 1
            rest >>= 4
        }
        for shift in stride(from: (digits - 1) * 4, through: 0, by: -4) {
            let nibble = UInt8((bytes.count >> shift) & 0xF)
            buffer.writeInteger(nibble < 10 ? UInt8(ascii: "0") + nibble : UInt8(ascii: "a") + nibble - 10)
        }
        buffer.writeStaticString("\r\n")
        buffer.writeBytes(bytes)
        buffer.writeStaticString("\r\n")
    }

    /// A non-negative number's decimal digits.
    private static func writeDecimal(_ value: Int, into buffer: inout ByteBuffer) {
        var divisor = 1
        while divisor <= value / 10 { divisor *= 10 }
        var rest = max(0, value)
        repeat {
            buffer.writeInteger(UInt8(ascii: "0") + UInt8(rest / divisor))
            rest %= divisor
            divisor /= 10
        } while divisor > 0
    }

    private static func isWritable(_ text: String) -> Bool {
        !text.utf8.contains { $0 == 0x0D || $0 == 0x0A || $0 == 0x00 }
    }

    private static func isFramingField(_ name: String) -> Bool {
        equalsIgnoringCase(name, "content-length") || equalsIgnoringCase(name, "transfer-encoding")
            || equalsIgnoringCase(name, "connection")
    }

    private static func equalsIgnoringCase(_ name: String, _ lowercased: StaticString) -> Bool {
        guard name.utf8.count == lowercased.utf8CodeUnitCount else { return false }
        let expected = lowercased.utf8Start
        for (index, byte) in name.utf8.enumerated() where byte.asciiLowercased != expected[index] { return false }
        return true
    }
}
