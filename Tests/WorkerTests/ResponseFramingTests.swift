import Foundation
import NIOCore
import NIOHTTP1
import TestSupport
import XCTest

@testable import Worker

/// The worker frames its own responses and answers pipelined requests itself (`HTTPConnectionHandler`,
/// `ResponseEncoding`): HTTP/1.0 and HEAD clients, requests queued behind a stream, and the bytes of a head.
final class ResponseFramingTests: GatewayTestCase {
    private func messagesRequest(version: String = "HTTP/1.1", stream: Bool, text: String = "Hello",
                                 extraHeaders: String = "") throws -> String {
        let body = String(decoding: try JSONSerialization.data(withJSONObject: messagesBody(text, stream: stream)),
                          as: UTF8.self)
        return "POST /v1/messages \(version)\r\nHost: x\r\nx-api-key: test-key\r\ncontent-type: application/json\r\n"
            + "content-length: \(body.utf8.count)\r\n\(extraHeaders)\r\n\(body)"
    }

    func testAStreamToAnHTTP10ClientEndsWithTheConnection() throws {
        let connection = try TestConnection(port: gateway.port)
        try connection.send(try messagesRequest(version: "HTTP/1.0", stream: true))
        let response = try connection.readResponse()
        XCTAssertEqual(response.status, 200)
        XCTAssertNil(response.headers["transfer-encoding"], "HTTP/1.0 has no chunked coding")
        XCTAssertNil(response.headers["content-length"])
        XCTAssertEqual(response.headers["connection"], "close")
        let text = response.text
        XCTAssertTrue(text.hasPrefix("event: message_start\n"), text)
        XCTAssertTrue(text.hasSuffix("event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"), text)
        XCTAssertTrue(connection.isClosedByPeer())
    }

    func testAnHTTP10ClientGetsALengthAndMayKeepTheConnection() throws {
        let connection = try TestConnection(port: gateway.port)
        try connection.send(try messagesRequest(version: "HTTP/1.0", stream: false,
                                                extraHeaders: "connection: keep-alive\r\n"))
        let first = try connection.readResponse()
        XCTAssertEqual(first.status, 200)
        XCTAssertEqual(first.headers["content-length"].flatMap(Int.init), first.body.count)
        XCTAssertEqual(first.headers["connection"], "keep-alive", "an HTTP/1.0 client needs to hear it")
        try connection.send("GET /health HTTP/1.0\r\nHost: x\r\n\r\n")
        XCTAssertEqual(try connection.readResponse().status, 200)
        XCTAssertTrue(connection.isClosedByPeer(), "HTTP/1.0 without keep-alive closes")
    }

    func testHeadAnswersTheHeadersAloneAndKeepsTheConnection() throws {
        let connection = try TestConnection(port: gateway.port)
        try connection.send("GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        let get = try connection.readResponse()
        try connection.send("HEAD /health HTTP/1.1\r\nHost: x\r\n\r\nGET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        let head = try connection.readResponse(head: true)
        XCTAssertEqual(head.status, 200)
        XCTAssertEqual(head.headers["content-length"].flatMap(Int.init), get.body.count)
        // The next response follows at once: the HEAD response carried no body bytes.
        let after = try connection.readResponse()
        XCTAssertEqual(after.status, 200)
        XCTAssertEqual(after.body, get.body)
    }

    func testRequestsPipelinedBehindAStreamAreAnsweredAfterItInOrder() throws {
        let connection = try TestConnection(port: gateway.port)
        let models = "GET /v1/models HTTP/1.1\r\nHost: x\r\nx-api-key: test-key\r\n\r\n"
        try connection.send(try messagesRequest(stream: true, text: "first") + models
                            + (try messagesRequest(stream: false, text: "third")) + models)
        let streamed = try connection.readResponse()
        XCTAssertEqual(streamed.status, 200)
        XCTAssertEqual(streamed.headers["transfer-encoding"], "chunked")
        XCTAssertTrue(streamed.text.hasSuffix("data: {\"type\":\"message_stop\"}\n\n"), streamed.text)
        XCTAssertEqual(try connection.readResponse().status, 200)
        let third = try connection.readResponse()
        XCTAssertEqual(third.status, 200)
        XCTAssertEqual((try third.json() as? [String: Any])?["type"] as? String, "message")
        XCTAssertEqual(try connection.readResponse().status, 200)
        try connection.send("GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        XCTAssertEqual(try connection.readResponse().status, 200, "the connection reads again once the queue is empty")
    }

    func testManyPipelinedRequestsInOneWriteAreAllAnswered() throws {
        let connection = try TestConnection(port: gateway.port)
        let count = 300
        try connection.send(String(repeating: "GET /v1/models HTTP/1.1\r\nHost: x\r\nx-api-key: test-key\r\n\r\n",
                                   count: count) + "GET /nope HTTP/1.1\r\nHost: x\r\n\r\n")
        for index in 0..<count {
            XCTAssertEqual(try connection.readResponse().status, 200, "response \(index)")
        }
        XCTAssertEqual(try connection.readResponse().status, 404)
    }

    func testGarbageAfterARequestClosesTheConnectionAfterA400() throws {
        let connection = try TestConnection(port: gateway.port)
        try connection.send("GET /health HTTP/1.1\r\nHost: x\r\n\r\nNOT HTTP AT ALL\r\n\r\n")
        XCTAssertEqual(try connection.readResponse().status, 200)
        let refusal = try connection.readResponse()
        XCTAssertEqual(refusal.status, 400)
        XCTAssertEqual(refusal.headers["connection"], "close")
        XCTAssertTrue(connection.isClosedByPeer())
    }

    // MARK: - The bytes of a head

    private func head(_ status: HTTPResponseStatus, _ headers: HTTPHeaders, _ framing: ResponseEncoding.Framing,
                      _ persistence: ResponseEncoding.Persistence = .implied) -> String {
        var buffer = ByteBuffer()
        ResponseEncoding.writeHead(status: status, headers: headers, framing: framing, persistence: persistence,
                                   into: &buffer)
        return String(buffer: buffer)
    }

    func testHeadBytes() {
        XCTAssertEqual(head(.ok, ["content-type": "application/json", "request-id": "req_1"], .contentLength(12)),
                       "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nrequest-id: req_1\r\n"
                           + "content-length: 12\r\n\r\n")
        XCTAssertEqual(head(.tooManyRequests, ["retry-after": "3"], .chunked, .close),
                       "HTTP/1.1 429 Too Many Requests\r\nretry-after: 3\r\ntransfer-encoding: chunked\r\n"
                           + "connection: close\r\n\r\n")
        XCTAssertEqual(head(HTTPResponseStatus(statusCode: 529), [:], .untilClose), "HTTP/1.1 529 \r\n\r\n")
        XCTAssertEqual(head(.ok, [:], .contentLength(0)), "HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n")
        XCTAssertEqual(head(.ok, [:], .contentLength(1_234_567_890_123), .keepAlive),
                       "HTTP/1.1 200 OK\r\ncontent-length: 1234567890123\r\nconnection: keep-alive\r\n\r\n")
        let long = String(repeating: "x", count: 5_000)
        XCTAssertEqual(head(.ok, ["x-long": long], .untilClose, .close),
                       "HTTP/1.1 200 OK\r\nx-long: \(long)\r\nconnection: close\r\n\r\n")
    }

    func testHeadLeavesOutFramingFieldsAndFieldsThatWouldSplitIt() {
        let headers: HTTPHeaders = [
            "Content-Length": "99", "transfer-encoding": "gzip", "Connection": "keep-alive",
            "x-injected": "a\r\nset-cookie: b", "x-bare-lf": "a\nb", "x-nul": "a\u{0}b", "bad\r\nname": "v",
            "x-kept": "fine", "x-late-cr": String(repeating: "x", count: 70) + "\r", "x-tab": "a\tb\u{1}",
        ]
        XCTAssertEqual(head(.ok, headers, .contentLength(5)),
                       "HTTP/1.1 200 OK\r\nx-kept: fine\r\nx-tab: a\tb\u{1}\r\ncontent-length: 5\r\n\r\n")
    }

    func testChunkSizesAreHex() {
        for size in [1, 9, 10, 15, 16, 255, 256, 4095, 65_536, 1_000_003] {
            var buffer = ByteBuffer()
            [UInt8](repeating: 0x61, count: size).withUnsafeBytes { ResponseEncoding.writeChunk($0, into: &buffer) }
            let text = String(buffer: buffer)
            XCTAssertTrue(text.hasPrefix(String(size, radix: 16) + "\r\na"), "\(size)")
            XCTAssertTrue(text.hasSuffix("a\r\n"))
            XCTAssertEqual(buffer.readableBytes, String(size, radix: 16).count + 2 + size + 2)
        }
        var empty = ByteBuffer()
        ResponseEncoding.writeChunk(UnsafeRawBufferPointer(start: nil, count: 0), into: &empty)
        XCTAssertEqual(empty.readableBytes, 0, "an empty chunk would end the body")
    }
}
