import XCTest

@testable import Shared

final class HexTests: XCTestCase {
    func testEveryByteIsTwoLowercaseDigits() {
        XCTAssertEqual(Hex.encode([]), "")
        XCTAssertEqual(Hex.encode([0x00, 0x0f, 0xa0, 0xff]), "000fa0ff")
        let all = (0...255).map { UInt8($0) }
        XCTAssertEqual(Hex.encode(all), all.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined())
    }

    func testADigestNamesItsTenant() {
        // SHA-256("abc"), FIPS 180-2 appendix B.1.
        XCTAssertEqual(SHA256Digest.hexString(SHA256Digest.digest(Array("abc".utf8))),
                       "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    }
}
