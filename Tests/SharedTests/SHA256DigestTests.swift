import Shared
import XCTest

final class SHA256DigestTests: XCTestCase {
    func testKnownVectors() {
        XCTAssertEqual(
            SHA256Digest.hex([UInt8]()),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        )
        XCTAssertEqual(
            SHA256Digest.hex("abc".utf8),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        )
        XCTAssertEqual(SHA256Digest.digest("abc".utf8).count, 32)
    }

    func testADigestOfPartsIsTheDigestOfThemJoined() {
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<200 {
            let bytes = (0..<Int.random(in: 0...300, using: &generator)).map { _ in
                UInt8.random(in: 0...255, using: &generator)
            }
            var cuts = (0..<Int.random(in: 0...4, using: &generator)).map { _ in
                Int.random(in: 0...bytes.count, using: &generator)
            }
            cuts = [0] + cuts.sorted() + [bytes.count]
            let digest = bytes.withUnsafeBytes { whole in
                SHA256Digest.digest(parts: zip(cuts, cuts.dropFirst()).map {
                    UnsafeRawBufferPointer(rebasing: whole[$0..<$1])
                })
            }
            XCTAssertEqual(digest, SHA256Digest.digest(bytes), "cut at \(cuts)")
        }
        XCTAssertEqual(SHA256Digest.hexString(SHA256Digest.digest(parts: [])),
                       "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    }

    func testConstantTimeEquals() {
        let a = SHA256Digest.digest("key-a".utf8)
        let b = SHA256Digest.digest("key-b".utf8)
        XCTAssertTrue(SHA256Digest.constantTimeEquals(a, a))
        XCTAssertFalse(SHA256Digest.constantTimeEquals(a, b))
        XCTAssertFalse(SHA256Digest.constantTimeEquals(a, Array(a.dropLast())))
        XCTAssertTrue(SHA256Digest.constantTimeEquals([], []))
    }

    func testScriptSHA1MatchesRedisDefinition() {
        // SHA-1 of "return 1", as `redis-cli SCRIPT LOAD "return 1"` prints it.
        XCTAssertEqual(RedisScript("return 1").sha1, "e0e1f9fabfc9d4800c877a703b823ac0578ff8db")
    }
}
