import XCTest

@testable import Worker

final class RandomIDTests: XCTestCase {
    func testXoshiroMatchesTheReferenceSequence() {
        // The reference C implementation from state {1, 2, 3, 4}.
        var generator = Xoshiro256StarStar(state: (1, 2, 3, 4))
        XCTAssertEqual([generator.next(), generator.next(), generator.next()], [11520, 0, 1_509_978_240])
    }

    func testIdsHaveThePrefixTheLengthAndOnlyBase62Characters() {
        let id = RandomID.make(prefix: "msg_")
        XCTAssertTrue(id.hasPrefix("msg_"))
        XCTAssertEqual(id.utf8.count, 4 + 24)
        XCTAssertTrue(id.dropFirst(4).allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber) })
        XCTAssertEqual(RandomID.make(prefix: "x", length: 35).utf8.count, 36)
    }

    func testIdsDoNotRepeatAndUseTheWholeAlphabet() {
        let ids = (0..<20_000).map { _ in RandomID.make(prefix: "") }
        XCTAssertEqual(Set(ids).count, ids.count)
        let characters = Set(ids.joined())
        XCTAssertEqual(characters.count, 62, "every base-62 character appears in 480,000 random characters")
    }
}
