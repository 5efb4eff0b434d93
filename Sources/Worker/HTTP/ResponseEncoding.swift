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

    /// The `connection` field a head carries.
    enum Persistence {
        /// None: HTTP/1.1 keeps the connection by default.
        case implied
        /// `connection: close`: the connection closes after this response.
        case close
        /// `connection: keep-alive`: an HTTP/1.0 client asked to keep the connection and needs to hear it is kept.
        case keepAlive
    }

    static let continueHead: StaticString = "HTTP/1.1 100 Continue\r\n\r\n"
    /// The answer to bytes that are not HTTP: nothing after it can be trusted, so the connection closes.
    static let badRequest: StaticString = "HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
    static let headTooLarge: StaticString =
        "HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
    static let lastChunk: StaticString = "0\r\n\r\n"

    /// Appends the status line and the header section. The framing fields come from `framing` and `persistence`: any
    /// `content-length`, `transfer-encoding` or `connection` field in `headers` is left out, as is a field whose name
    /// or value could break the section (CR, LF or NUL: an upstream's value must not split the response).
    ///
    /// Written with one bounds check and a copy per piece: going through `ByteBuffer.writeString` and the
    /// strings' UTF-8 views cost more per response than the rest of its bytes together.
    static func writeHead(status: HTTPResponseStatus, headers: HTTPHeaders, framing: Framing,
                          persistence: Persistence, into buffer: inout ByteBuffer) {
        let reason = status.reasonPhrase
        var bound = 100 + reason.utf8.count  // status line, framing field, connection field, blank line
        for (name, value) in headers { bound += name.utf8.count + value.utf8.count + 4 }
        buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: bound) { output in
            var head = BoundedWriter(output: output)
            head.append("HTTP/1.1 ")
            head.appendDecimal(Int(status.code))
            head.append(" ")
            head.append(reason)
            head.append("\r\n")
            for (name, value) in headers {
                head.appendField(name, value)
            }
            switch framing {
            case .contentLength(let length):
                head.append("content-length: ")
                head.appendDecimal(length)
                head.append("\r\n")
            case .chunked:
                head.append("transfer-encoding: chunked\r\n")
            case .untilClose:
                break
            }
            switch persistence {
            case .implied: break
            case .close: head.append("connection: close\r\n")
            case .keepAlive: head.append("connection: keep-alive\r\n")
            }
            head.append("\r\n")
            return head.count
        }
    }

    /// Appends one chunk of a chunked body: its size in hex, the bytes, CRLF. An empty chunk would end the body, so
    /// nothing is written for no bytes.
    static func writeChunk(_ bytes: UnsafeRawBufferPointer, into buffer: inout ByteBuffer) {
        guard !bytes.isEmpty else { return }
        buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: bytes.count + 20) { output in
            var chunk = BoundedWriter(output: output)
            chunk.appendHex(bytes.count)
            chunk.append("\r\n")
            chunk.append(bytes)
            chunk.append("\r\n")
            return chunk.count
        }
    }
}

/// Bytes appended into memory that `ResponseEncoding` made room for (its bound covers every byte written).
private struct BoundedWriter {
    let output: UnsafeMutableRawBufferPointer
    private(set) var count = 0

    init(output: UnsafeMutableRawBufferPointer) {
        self.output = output
    }

    mutating func append(_ literal: StaticString) {
        append(UnsafeRawBufferPointer(literal: literal))
    }

    mutating func append(_ text: String) {
        text.withBorrowedUTF8 { append(UnsafeRawBufferPointer($0)) }
    }

    mutating func append(_ bytes: UnsafeRawBufferPointer) {
        guard let source = bytes.baseAddress, let destination = output.baseAddress, !bytes.isEmpty else { return }
        precondition(count + bytes.count <= output.count, "response bytes outgrew their bound")
        (destination + count).copyMemory(from: source, byteCount: bytes.count)
        count += bytes.count
    }

    /// A non-negative number's decimal digits.
    mutating func appendDecimal(_ value: Int) {
        DecimalDigits.withDigits(of: UInt(clamping: value)) { append($0) }
    }

    /// A positive number's lowercase hex digits (a chunk size).
    mutating func appendHex(_ value: Int) {
        var shift = 0
        while value >> shift >= 16 { shift += 4 }
        while shift >= 0 {
            precondition(count < output.count, "response bytes outgrew their bound")
            let nibble = UInt8((value >> shift) & 0xF)
            output[count] = nibble < 10 ? UInt8(ascii: "0") + nibble : UInt8(ascii: "a") + nibble - 10
            count += 1
            shift -= 4
        }
    }

    /// `name: value` CRLF, unless the field is one `writeHead` frames itself or would break the header section.
    mutating func appendField(_ name: String, _ value: String) {
        name.withBorrowedUTF8 { name in
            value.withBorrowedUTF8 { value in
                guard Self.isWritable(name), Self.isWritable(value), !Self.isFramingField(name) else { return }
                append(UnsafeRawBufferPointer(name))
                append(": ")
                append(UnsafeRawBufferPointer(value))
                append("\r\n")
            }
        }
    }

    private static func isWritable(_ text: UnsafeBufferPointer<UInt8>) -> Bool {
        // The three bytes refused are all below 0x0E, and a field seldom holds any such byte: its smallest byte
        // (a loop the compiler does many bytes a step at) settles nearly every field at once.
        var smallest = UInt8.max
        for byte in text { smallest = Swift.min(smallest, byte) }
        guard smallest < 0x0E else { return true }
        for byte in text where byte == 0x0D || byte == 0x0A || byte == 0x00 { return false }
        return true
    }

    private static func isFramingField(_ name: UnsafeBufferPointer<UInt8>) -> Bool {
        name.equalsIgnoringASCIICase("content-length") || name.equalsIgnoringASCIICase("transfer-encoding")
            || name.equalsIgnoringASCIICase("connection")
    }
}
