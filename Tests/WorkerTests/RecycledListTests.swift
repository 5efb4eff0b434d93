import XCTest

@testable import Worker

/// `RecycledList`: the items of each round come out whole and in order, and items added while a taken list is
/// handled wait for the next round. (That it allocates nothing per round is measured, not asserted here: callgrind's
/// allocation counts in BENCHMARKS.md, twenty-fourth round.)
final class RecycledListTests: XCTestCase {
    func testEachRoundsItemsComeOutWholeAndInOrder() {
        var list = RecycledList<Int>()
        XCTAssertTrue(list.isEmpty)
        for round in 0..<20 {
            let count = round % 5 + 1
            for item in 0..<count { list.append(round * 100 + item) }
            XCTAssertFalse(list.isEmpty)
            var taken = list.takeAll()
            XCTAssertTrue(list.isEmpty, "round \(round): the list is not left empty")
            XCTAssertEqual(taken, (0..<count).map { round * 100 + $0 })
            list.recycle(&taken)
            XCTAssertTrue(taken.isEmpty, "round \(round): the recycled list kept its items")
            XCTAssertTrue(list.isEmpty, "round \(round): recycling added items")
        }
    }

    func testItemsAddedWhileATakenListIsHandledJoinTheNextRound() {
        var list = RecycledList<Int>()
        list.append(1)
        list.append(2)
        var taken = list.takeAll()
        for item in taken { list.append(item + 10) }
        list.recycle(&taken)
        XCTAssertEqual(list.takeAll(), [11, 12])
        XCTAssertTrue(list.isEmpty)
    }
}
