import Shared
import XCTest

@testable import Worker

/// The cache key is shared by every replica through Redis: it must not change with how the body is held.
final class ResponseCacheKeyTests: XCTestCase {
    func testTheKeyIsTheDigestOfTheTenantANewlineAndTheBody() {
        for body in ["", "{}", String(repeating: "{\"model\":\"m\",\"messages\":[]}", count: 5_000)] {
            let bytes = Array(body.utf8)
            XCTAssertEqual(ResponseCacheKey.key(tenant: "tenant-a", upstreamBody: UpstreamBody(bytes)),
                           SHA256Digest.hex(Array("tenant-a".utf8) + [0x0A] + bytes))
        }
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
