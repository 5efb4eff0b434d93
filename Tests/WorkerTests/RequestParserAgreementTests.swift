import NIOCore
import NIOEmbedded
import NIOHTTP1
import TestSupport
import XCTest

@testable import Shared

/// The gateway's request parser against NIO's `HTTPRequestDecoder` (llhttp), which the workers used before it, over
/// thousands of generated requests and mutations of them: whatever the gateway's parser takes, NIO's takes too and
/// reads the same way (method, target, version, keep-alive, body, the key fields). The gateway's may refuse more (it
/// is stricter about framing); it must never read a request another parser would read differently. The cases come
/// from a seeded generator, so a failure names one that can be run again.
final class RequestParserAgreementTests: XCTestCase {
    /// What one parser made of some bytes, in the terms both can give.
    struct Reading: Equatable {
        var method: String
        var uri: String
        var minorVersion: Int
        var keepAlive: Bool
        var apiKey: String?
        var authorization: String?
        var body: [UInt8]
    }

    /// The requests read whole before the first error; nil for the error itself (the rest is not compared).
    private func ours(_ bytes: [UInt8]) -> (requests: [Reading], failed: Bool) {
        let parsed = RequestParserTests.parse(bytes, maxHeadBytes: 1 << 20)
        let complete = min(parsed.ends, parsed.heads.count)
        let requests = (0..<complete).map { index in
            let head = parsed.heads[index]
            return Reading(method: head.method.rawValue, uri: head.uri, minorVersion: head.version.minor,
                           keepAlive: head.isKeepAlive, apiKey: head.apiKey, authorization: head.authorization,
                           body: parsed.bodies[index])
        }
        return (requests, parsed.error != nil)
    }

    private func nio(_ bytes: [UInt8]) -> (requests: [Reading], failed: Bool) {
        let channel = EmbeddedChannel(handler: ByteToMessageHandler(HTTPRequestDecoder()))
        defer { _ = try? channel.finish() }
        var failed = false
        do {
            try channel.writeInbound(ByteBuffer(bytes: bytes))
        } catch {
            failed = true
        }
        var requests: [Reading] = []
        var current: Reading?
        while let part = try? channel.readInbound(as: HTTPServerRequestPart.self) {
            switch part {
            case .head(let head):
                let trimmed = { (name: String) in
                    head.headers.first(name: name).map { $0.trimmingCharacters(in: .whitespaces) }
                }
                current = Reading(method: head.method.rawValue, uri: head.uri, minorVersion: head.version.minor,
                                  keepAlive: head.isKeepAlive, apiKey: trimmed("x-api-key"),
                                  authorization: trimmed("authorization"), body: [])
            case .body(let body):
                current?.body += body.readableBytesView
            case .end:
                if let current { requests.append(current) }
                current = nil
            }
        }
        return (requests, failed)
    }

    private func request(_ random: inout SplitMix64) -> [UInt8] {
        let methods = ["GET", "POST", "HEAD", "PUT", "DELETE", "OPTIONS", "PATCH"]
        let targets = ["/", "/v1/messages", "/v1/messages?beta=true", "/v1/models/zai-glm-4.7", "*", "/a%20b?x=1&y=2"]
        let newline = "\r\n"
        var text = (random.next() % 10 == 0 ? newline : "")
        text += "\(methods.randomElement(using: &random)!) \(targets.randomElement(using: &random)!) "
        let minor = random.next() % 5 == 0 ? 0 : 1
        text += "HTTP/1.\(minor)\(newline)"
        var fields: [(String, String)] = [("Host", "127.0.0.1:8080")]
        let optional: [(String, String)] = [
            ("x-api-key", "team-a"), ("X-API-KEY", " spaced-key  "), ("Authorization", "Bearer sk-\u{e9}t\u{e9}"),
            ("authorization", "Basic abc"), ("anthropic-version", "2023-06-01"), ("x-stainless-os", "Linux"),
            ("Accept", "*/*"), ("expect", "100-continue"), ("x-empty", ""), ("x-tab", "a\tb"),
        ]
        for field in optional where random.next() % 3 == 0 { fields.append(field) }
        // One `Connection` field at most: of two that disagree, NIO believes the first, the gateway any `close`.
        let connections = ["close", "Keep-Alive", "keep-alive, Upgrade", "TE, close"]
        if random.next() % 2 == 0 { fields.append(("Connection", connections.randomElement(using: &random)!)) }
        let body = Array(repeating: UInt8(ascii: "b"), count: Int(random.next() % 40))
        var encodedBody: [UInt8] = []
        switch random.next() % 4 {
        case 0 where minor == 1:
            fields.append(("Transfer-Encoding", random.next() % 2 == 0 ? "chunked" : "Chunked"))
            var offset = 0
            while offset < body.count {
                let size = min(body.count - offset, Int(1 + random.next() % 16))
                encodedBody += Array(String(size, radix: 16).utf8) + Array("\r\n".utf8)
                encodedBody += body[offset..<offset + size] + Array("\r\n".utf8)
                offset += size
            }
            encodedBody += Array("0\r\n\r\n".utf8)
        case 1:
            break
        default:
            fields.append(("Content-Length", String(body.count)))
            encodedBody = body
        }
        fields.shuffle(using: &random)
        for (name, value) in fields { text += "\(name): \(value)\(newline)" }
        text += newline
        return Array(text.utf8) + encodedBody
    }

    private func mutate(_ bytes: [UInt8], _ random: inout SplitMix64) -> [UInt8] {
        var bytes = bytes
        // No tab: llhttp refuses one next to a `Content-Length`'s or `Transfer-Encoding`'s value, where RFC 9110
        // allows it as whitespace and the gateway takes it (the one known difference; a tab elsewhere in a value is
        // in the generated requests).
        let interesting: [UInt8] = [0, 10, 13, 32, 58, 59, 0x7F, 0x80, 0xFF, UInt8(ascii: "a"), UInt8(ascii: "0")]
        for _ in 0..<(1 + random.next() % 3) where !bytes.isEmpty {
            let position = Int(random.next() % UInt64(bytes.count))
            switch random.next() % 3 {
            case 0: bytes[position] = interesting.randomElement(using: &random)!
            case 1: bytes.insert(interesting.randomElement(using: &random)!, at: position)
            default: bytes.remove(at: position)
            }
        }
        return bytes
    }

    /// The requests up to and with the first that closes the connection.
    private static func upToClose(_ requests: [Reading]) -> [Reading] {
        guard let close = requests.firstIndex(where: { !$0.keepAlive }) else { return requests }
        return Array(requests[...close])
    }

    func testValidRequestsAreReadAlikeByBoth() {
        var random = SplitMix64(seed: 7)
        for index in 0..<3000 {
            var bytes = request(&random)
            // Pipelined: a second request behind the first, unless that one closes the connection (NIO then
            // refuses what follows; the gateway closes without reading it).
            if index % 4 == 0, ours(bytes).requests.first?.keepAlive == true { bytes += request(&random) }
            let (mine, theirs) = (ours(bytes), nio(bytes))
            XCTAssertFalse(mine.failed, "case \(index): \(String(decoding: bytes, as: UTF8.self).debugDescription)")
            XCTAssertFalse(theirs.failed, "case \(index): NIO refused a valid request")
            XCTAssertEqual(mine.requests, theirs.requests, "case \(index)")
        }
    }

    func testWhatTheGatewayTakesNIOTakesAlikeWhateverTheMutation() {
        var random = SplitMix64(seed: 11)
        var refusedByBoth = 0
        var refusedByOursOnly = 0
        for index in 0..<20000 {
            let bytes = mutate(request(&random), &random)
            let (mine, theirs) = (ours(bytes), nio(bytes))
            let described = String(decoding: bytes, as: UTF8.self).debugDescription
            // Each request the gateway read whole is one NIO read whole, the same way, up to the first that closes
            // the connection (NIO refuses what follows it; the gateway closes without reading it). An error of
            // the gateway's may come where NIO reads on.
            let mineUpToClose = Self.upToClose(mine.requests)
            XCTAssertEqual(Array(theirs.requests.prefix(mineUpToClose.count)), mineUpToClose,
                           "case \(index): \(described)")
            if mine.failed { theirs.failed ? (refusedByBoth += 1) : (refusedByOursOnly += 1) }
        }
        // The mutations must reach the refusals, or the comparison above proves little.
        XCTAssertGreaterThan(refusedByBoth, 1000)
        print("mutated requests refused by both: \(refusedByBoth), by the gateway's parser only: \(refusedByOursOnly)")
    }
}
