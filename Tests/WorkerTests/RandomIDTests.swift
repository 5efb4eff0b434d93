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
        // And evenly at every position, the last ones of each 64-bit draw included: 20,000 draws of 62 characters
        // give each about 323 times (a standard deviation of 18), so a count outside 200...450 is a bias.
        let columns = ids.map { Array($0.utf8) }
        for position in 0..<24 {
            var counts: [UInt8: Int] = [:]
            for id in columns { counts[id[position], default: 0] += 1 }
            XCTAssertEqual(counts.count, 62, "position \(position)")
            XCTAssertTrue(counts.values.allSatisfy { (200...450).contains($0) }, "position \(position): \(counts.values.sorted())")
        }
    }
}
