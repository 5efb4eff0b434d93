import NIOCore
import NIOHTTP1
import XCTest

@testable import Shared

/// The client requests' parser: heads, bodies in both framings, pipelining, the bytes arriving in any pieces, and
/// every shape it refuses.
final class RequestParserTests: XCTestCase {
    /// What the parser made of some bytes: the heads, each request's body, how many requests ended, and the error.
    struct Parsed {
        var heads: [ClientRequestHead] = []
        var bodies: [[UInt8]] = []
        var ends = 0
        var error: RequestParseError?
    }

    /// Feeds `text` in pieces of `pieceSize` bytes (all at once by default), taking every part after each.
    static func parse(_ text: String, pieceSize: Int? = nil, maxHeadBytes: Int = 65_536) -> Parsed {
        parse(Array(text.utf8), pieceSize: pieceSize, maxHeadBytes: maxHeadBytes)
    }

    static func parse(_ bytes: [UInt8], pieceSize: Int? = nil, maxHeadBytes: Int = 65_536) -> Parsed {
        var parser = RequestParser(maxHeadBytes: maxHeadBytes)
        var parsed = Parsed()
        let size = max(1, pieceSize ?? bytes.count)
        var offset = 0
        repeat {
            let piece = bytes[offset..<min(bytes.count, offset + size)]
            offset += size
            parser.append(ByteBuffer(bytes: piece))
            do {
                while let part = try parser.next() {
                    switch part {
                    case .head(let head):
                        parsed.heads.append(head)
                        parsed.bodies.append([])
                    case .body(let body):
                        parsed.bodies[parsed.bodies.count - 1] += body.readableBytesView
                    case .end:
                        parsed.ends += 1
                    }
                }
            } catch {
                parsed.error = error
                return parsed
            }
        } while offset < bytes.count
        return parsed
    }

    func testAHeadAndItsBody() throws {
        let text = "POST /v1/messages?beta=true HTTP/1.1\r\nHost: x\r\nX-Api-Key: team-a\r\nx-api-key: second\r\n"
            + "Authorization: Bearer tok\r\nContent-Type: application/json\r\nContent-Length: 5\r\n"
            + "Expect: 100-Continue\r\n\r\nhello"
        for pieceSize in [nil, 1, 2, 7] {
            let parsed = Self.parse(text, pieceSize: pieceSize)
            XCTAssertNil(parsed.error)
            let head = try XCTUnwrap(parsed.heads.first)
            XCTAssertEqual(head.method, .POST)
            XCTAssertEqual(head.uri, "/v1/messages?beta=true")
            XCTAssertEqual(head.version, .http1_1)
            XCTAssertTrue(head.isKeepAlive)
            XCTAssertTrue(head.takesChunks)
            XCTAssertEqual(head.contentLength, 5)
            XCTAssertFalse(head.isChunked)
            XCTAssertTrue(head.expectsContinue)
            XCTAssertEqual(head.apiKey, "team-a", "the first of two fields")
            XCTAssertEqual(head.authorization, "Bearer tok")
            XCTAssertEqual(parsed.bodies, [Array("hello".utf8)])
            XCTAssertEqual(parsed.ends, 1)
        }
    }

    func testARequestWithoutABodyEndsAtItsHead() {
        let parsed = Self.parse("GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        XCTAssertEqual(parsed.heads.map(\.method), [.GET])
        XCTAssertEqual(parsed.heads.first?.contentLength, nil)
        XCTAssertEqual(parsed.bodies, [[]])
        XCTAssertEqual(parsed.ends, 1)
        XCTAssertEqual(Self.parse("HEAD / HTTP/1.1\r\n\r\n").heads.first?.method, .HEAD)
        XCTAssertEqual(Self.parse("OPTIONS * HTTP/1.1\r\n\r\n").heads.first?.method, .OPTIONS)
        XCTAssertEqual(Self.parse("PURGE /x HTTP/1.1\r\n\r\n").heads.first?.method, .PURGE)
    }

    func testPipelinedRequestsFollowOneAnother() {
        let one = "POST /a HTTP/1.1\r\ncontent-length: 3\r\n\r\nabc"
        let two = "GET /b HTTP/1.1\r\n\r\n"
        let three = "POST /c HTTP/1.1\r\ntransfer-encoding: chunked\r\n\r\n2\r\nde\r\n0\r\n\r\n"
        for pieceSize in [nil, 1, 5] {
            let parsed = Self.parse(one + two + three, pieceSize: pieceSize)
            XCTAssertNil(parsed.error)
            XCTAssertEqual(parsed.heads.map(\.uri), ["/a", "/b", "/c"])
            XCTAssertEqual(parsed.bodies, [Array("abc".utf8), [], Array("de".utf8)])
            XCTAssertEqual(parsed.ends, 3)
        }
    }

    func testEmptyLinesBeforeARequestAreSkippedAndBareLineFeedsRefused() {
        for pieceSize in [nil, 1] {
            let parsed = Self.parse("\r\n\r\nGET /a HTTP/1.1\r\ncontent-length: 1\r\n\r\nz\r\nGET /b HTTP/1.1\r\n\r\n",
                                    pieceSize: pieceSize)
            XCTAssertNil(parsed.error)
            XCTAssertEqual(parsed.heads.map(\.uri), ["/a", "/b"])
            XCTAssertEqual(parsed.bodies, [[UInt8(ascii: "z")], []])
            for text in ["GET /a HTTP/1.1\nHost: x\r\n\r\n", "GET /a HTTP/1.1\r\nHost: x\n\r\n",
                         "GET /a HTTP/1.1\r\nHost: x\r\n\n", "\nGET /a HTTP/1.1\r\n\r\n",
                         "POST /a HTTP/1.1\r\ntransfer-encoding: chunked\r\n\r\n1\na\r\n0\r\n\r\n",
                         "POST /a HTTP/1.1\r\ntransfer-encoding: chunked\r\n\r\n1\r\na\n0\r\n\r\n"] {
                XCTAssertEqual(Self.parse(text, pieceSize: pieceSize).error, .malformed, text.debugDescription)
            }
        }
    }

    func testWhetherTheConnectionStaysOpen() {
        func keepAlive(_ version: String, _ connection: String?) -> Bool? {
            let field = connection.map { "Connection: \($0)\r\n" } ?? ""
            return Self.parse("GET / \(version)\r\n\(field)\r\n").heads.first?.isKeepAlive
        }
        XCTAssertEqual(keepAlive("HTTP/1.1", nil), true)
        XCTAssertEqual(keepAlive("HTTP/1.1", "close"), false)
        XCTAssertEqual(keepAlive("HTTP/1.1", "Upgrade, CLOSE"), false)
        XCTAssertEqual(keepAlive("HTTP/1.0", nil), false)
        XCTAssertEqual(keepAlive("HTTP/1.0", "Keep-Alive"), true)
        XCTAssertEqual(keepAlive("HTTP/1.0", "keep-alive, close"), false)
        XCTAssertEqual(Self.parse("GET / HTTP/1.0\r\n\r\n").heads.first?.takesChunks, false)
    }

    func testAChunkedBodyWithExtensionsAndTrailers() {
        let text = "POST /v1/messages HTTP/1.1\r\nTransfer-Encoding: Chunked\r\n\r\n"
            + "5;name=value\r\nhello\r\nA ; a ; b = \"q\\\"uoted\"\r\n, world!!!\r\n0\r\nx-trailer: 1\r\n\r\n"
        for pieceSize in [nil, 1, 3] {
            let parsed = Self.parse(text, pieceSize: pieceSize)
            XCTAssertNil(parsed.error)
            XCTAssertEqual(parsed.heads.first?.isChunked, true)
            XCTAssertEqual(parsed.heads.first?.contentLength, nil)
            XCTAssertEqual(parsed.bodies, [Array("hello, world!!!".utf8)])
            XCTAssertEqual(parsed.ends, 1)
        }
    }

    func testABodyComesAsSlicesOfWhatWasRead() throws {
        var parser = RequestParser(maxHeadBytes: 1024)
        parser.append(ByteBuffer(string: "POST / HTTP/1.1\r\ncontent-length: 10\r\n\r\n0123"))
        guard case .head = try parser.next() else { return XCTFail("no head") }
        guard case .body(let first) = try parser.next() else { return XCTFail("no body") }
        XCTAssertEqual(String(buffer: first), "0123")
        XCTAssertNil(try parser.next())
        XCTAssertFalse(parser.hasUnparsedBytes, "the read's buffer is let go once parsed")
        parser.append(ByteBuffer(string: "456789GET"))
        guard case .body(let second) = try parser.next() else { return XCTFail("no body") }
        XCTAssertEqual(String(buffer: second), "456789")
        guard case .end = try parser.next() else { return XCTFail("no end") }
        XCTAssertNil(try parser.next())
        XCTAssertTrue(parser.hasUnparsedBytes, "the next request's first bytes wait")
    }

    func testMalformedShapesAreRefused() {
        let refused = [
            "GET /a HTTP/1.1 \r\n\r\n",
            "GET  /a HTTP/1.1\r\n\r\n",
            "GET /a\r\n\r\n",
            "GET /a HTTP/2.0\r\n\r\n",
            "GET /a HTTP/1.2\r\n\r\n",
            "G(T /a HTTP/1.1\r\n\r\n",
            "GETX /a HTTP/1.1\r\n\r\n",
            "GET a HTTP/1.1\r\n\r\n",
            "GET ** HTTP/1.1\r\n\r\n",
            "GET http://example.com/ HTTP/1.1\r\n\r\n",
            "GET /a b HTTP/1.1\r\n\r\n",
            "GET /\u{7F} HTTP/1.1\r\n\r\n",
            "GET /a HTTP/1.1\r\nHost : x\r\n\r\n",
            "GET /a HTTP/1.1\r\n: x\r\n\r\n",
            "GET /a HTTP/1.1\r\nno colon\r\n\r\n",
            "GET /a HTTP/1.1\r\nA: b\r\n  folded\r\n\r\n",
            "GET /a HTTP/1.1\r\nA: b\u{0}c\r\n\r\n",
            "GET /a HTTP/1.1\r\nA: b\rc\r\n\r\n",
            "GET /a HTTP/1.1\r\nA: b\u{7F}\r\n\r\n",
            "POST /a HTTP/1.1\r\ncontent-length: 5\r\ntransfer-encoding: chunked\r\n\r\n0\r\n\r\n",
            "POST /a HTTP/1.1\r\ntransfer-encoding: chunked\r\ncontent-length: 5\r\n\r\n0\r\n\r\n",
            "POST /a HTTP/1.1\r\ncontent-length: 5\r\ncontent-length: 5\r\n\r\nhello",
            "POST /a HTTP/1.1\r\ncontent-length: 5, 5\r\n\r\nhello",
            "POST /a HTTP/1.1\r\ncontent-length: +5\r\n\r\nhello",
            "POST /a HTTP/1.1\r\ncontent-length: 1234567890123456789\r\n\r\n",
            "POST /a HTTP/1.1\r\ncontent-length:\r\n\r\n",
            "POST /a HTTP/1.1\r\ntransfer-encoding: gzip, chunked\r\n\r\n0\r\n\r\n",
            "POST /a HTTP/1.1\r\ntransfer-encoding: chunked\r\ntransfer-encoding: chunked\r\n\r\n0\r\n\r\n",
            "POST /a HTTP/1.0\r\ntransfer-encoding: chunked\r\n\r\n0\r\n\r\n",
            "POST /a HTTP/1.1\r\ntransfer-encoding: chunked\r\n\r\nzz\r\n",
            "POST /a HTTP/1.1\r\ntransfer-encoding: chunked\r\n\r\n\r\n",
            "POST /a HTTP/1.1\r\ntransfer-encoding: chunked\r\n\r\n1000000000000000\r\n",
            "POST /a HTTP/1.1\r\ntransfer-encoding: chunked\r\n\r\n2x\r\nab\r\n0\r\n\r\n",
            "POST /a HTTP/1.1\r\ntransfer-encoding: chunked\r\n\r\n2;\r\nab\r\n0\r\n\r\n",
            "POST /a HTTP/1.1\r\ntransfer-encoding: chunked\r\n\r\n2;a=\r\nab\r\n0\r\n\r\n",
            "POST /a HTTP/1.1\r\ntransfer-encoding: chunked\r\n\r\n2;a=\"b\r\nab\r\n0\r\n\r\n",
            "POST /a HTTP/1.1\r\ntransfer-encoding: chunked\r\n\r\n2 \r\nab\r\n0\r\n\r\n",
            "POST /a HTTP/1.1\r\ntransfer-encoding: chunked\r\n\r\n2;a=b \r\nab\r\n0\r\n\r\n",
            "POST /a HTTP/1.1\r\ntransfer-encoding: chunked\r\n\r\n2\r\nabc\r\n0\r\n\r\n",
            "POST /a HTTP/1.1\r\ntransfer-encoding: chunked\r\n\r\n2\r\nab\r\n0\r\nbad trailer\r\n\r\n",
        ]
        for text in refused {
            for pieceSize in [nil, 1] {
                XCTAssertEqual(Self.parse(text, pieceSize: pieceSize).error, .malformed, text.debugDescription)
            }
        }
    }

    func testAHeadOverTheLimitIsRefusedBeforeItEnds() {
        let field = "x-filler: " + String(repeating: "a", count: 2000) + "\r\n"
        let endless = Self.parse("GET / HTTP/1.1\r\n" + field, pieceSize: 100, maxHeadBytes: 1024)
        XCTAssertEqual(endless.error, .headTooLarge)
        XCTAssertTrue(endless.heads.isEmpty)
        XCTAssertEqual(Self.parse("GET / HTTP/1.1\r\n" + field + "\r\n", maxHeadBytes: 1024).error, .headTooLarge)
        XCTAssertNil(Self.parse("GET / HTTP/1.1\r\n" + field + "\r\n", maxHeadBytes: 4096).error)
        let trailers = "POST / HTTP/1.1\r\ntransfer-encoding: chunked\r\n\r\n0\r\n" + field + field + "\r\n"
        XCTAssertEqual(Self.parse(trailers, maxHeadBytes: 3000).error, .malformed, "trailers are bounded too")
    }

    func testThousandsOfTrailerLinesAreTakenWithoutRecursion() {
        let trailers = String(repeating: "a:\r\n", count: 16_000)
        let head = "POST / HTTP/1.1\r\ntransfer-encoding: chunked\r\n\r\n"
        let parsed = Self.parse(head + "1\r\nz\r\n0\r\n" + trailers + "\r\n")
        XCTAssertNil(parsed.error)
        XCTAssertEqual(parsed.bodies, [[UInt8(ascii: "z")]])
        XCTAssertEqual(parsed.ends, 1)
    }

    func testAfterAnErrorTheParserStaysFailed() {
        var parser = RequestParser(maxHeadBytes: 1024)
        parser.append(ByteBuffer(string: "NOT HTTP AT ALL\r\n\r\n"))
        XCTAssertThrowsError(try parser.next())
        parser.append(ByteBuffer(string: "GET / HTTP/1.1\r\n\r\n"))
        XCTAssertThrowsError(try parser.next()) { XCTAssertEqual($0 as? RequestParseError, .malformed) }
    }

    func testTokenMasksHoldExactlyTheTokenCharacters() {
        let tokenCharacters = Set("!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz".utf8)
        for byte in UInt8.min...UInt8.max {
            XCTAssertEqual(HTTPByteClass.isTokenByte(byte), tokenCharacters.contains(byte), "byte \(byte)")
            XCTAssertEqual(HTTPByteClass.isTargetByte(byte), byte > 0x20 && byte < 0x7F, "byte \(byte)")
            XCTAssertEqual(HTTPByteClass.isFieldValueByte(byte), byte == 9 || (byte >= 0x20 && byte != 0x7F),
                           "byte \(byte)")
        }
    }
}

extension RequestParserTests {
    func testAFieldValueIsCheckedEightBytesAtATimeAsByteByByte() {
        var random = SystemRandomNumberGenerator()
        let alphabet: [UInt8] = [0, 8, 9, 10, 13, 31, 32, 65, 0x7E, 0x7F, 0x80, 0xC3, 0xFF]
        for _ in 0..<20_000 {
            let count = Int.random(in: 0...24, using: &random)
            let bytes = (0..<count).map { _ in
                Int.random(in: 0..<4, using: &random) == 0 ? alphabet.randomElement(using: &random)!
                    : UInt8.random(in: 0x20...0x7E, using: &random)
            }
            let expected = bytes.allSatisfy(HTTPByteClass.isFieldValueByte)
            bytes.withUnsafeBytes { XCTAssertEqual(HTTPByteClass.isFieldValue($0), expected, "\(bytes)") }
        }
    }
}
