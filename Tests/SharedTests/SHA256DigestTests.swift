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
