import Shared
import XCTest

@testable import Worker

/// The cache key is shared by every replica through Redis: it must not change with how the body is held.
final class ResponseCacheKeyTests: XCTestCase {
    func testTheKeyIsTheDigestOfTheTenantANewlineAndTheBodyLessItsStreamSuffix() {
        for body in ["}", "{}", String(repeating: "{\"model\":\"m\",\"messages\":[]}", count: 5_000)] {
            let bytes = Array(body.utf8)
            XCTAssertEqual(ResponseCacheKey.key(tenant: "tenant-a", upstreamBody: UpstreamBody(bytes),
                                                streamDependentSuffix: 1),
                           SHA256Digest.hex(Array("tenant-a".utf8) + [0x0A] + bytes.dropLast()))
        }
    }

    /// A cached answer serves a streaming and a non-streaming client alike (ControlPlaneTests drives it end to end).
    func testAStreamedAndANonStreamedRequestShareTheirKeyAndNothingElseDoes() {
        func key(_ request: OpenAI.ChatRequest, tenant: String = "tenant-a") -> String {
            ResponseCacheKey.key(tenant: tenant, upstreamBody: UpstreamBody(request.jsonBytes()),
                                 streamDependentSuffix: request.streamDependentSuffixCount)
        }
        var streamed = OpenAI.ChatRequest(
            model: "gpt-oss-120b", conversation: [OpenAI.ChatMessage(role: .user, content: .text("hi"))],
            maxCompletionTokens: 100)
        streamed.temperature = 0
        var whole = streamed
        whole.stream = false
        XCTAssertTrue(String(decoding: streamed.jsonBytes(), as: UTF8.self).contains("\"stream\":true"))
        XCTAssertFalse(String(decoding: whole.jsonBytes(), as: UTF8.self).contains("stream"))
        XCTAssertEqual(key(streamed), key(whole))
        XCTAssertNotEqual(key(streamed), key(streamed, tenant: "tenant-b"))
        var longer = whole
        longer.maxCompletionTokens = 101
        XCTAssertNotEqual(key(longer), key(whole))
        var otherWord = whole
        otherWord.conversation = [OpenAI.ChatMessage(role: .user, content: .text("ho"))]
        XCTAssertNotEqual(key(otherWord), key(whole))
    }

    func testAnUpstreamBodyJoinsItsPieces() {
        let pieces = ["{\"model\":", "\"m\"", "", ",\"messages\":[]}"].map { Array($0.utf8) }
        let body = pieces[0].withUnsafeBytes { a in
            pieces[1].withUnsafeBytes { b in
                pieces[2].withUnsafeBytes { c in
                    pieces[3].withUnsafeBytes { d in UpstreamBody(joining: [a, b, c, d]) }
                }
            }
        }
        XCTAssertEqual(Array(body.bytes), Array(pieces.joined()))
        XCTAssertEqual(UpstreamBody([]).count, 0)
    }
}
