import XCTest

@testable import Worker

/// `QuietSpell`: when a worker has gone quiet long enough, after serving upstream requests, to give memory back.
/// The whole path (a master's workers trimming their heaps after a burst) is `Tests/e2e/test_memory.py`.
final class QuietSpellTests: XCTestCase {
    private let second: UInt64 = 1_000_000_000

    private func activity(_ inFlight: Int, started: Int) -> UpstreamActivity {
        UpstreamActivity(inFlight: inFlight, started: started)
    }

    func testAWorkerThatHasServedNothingNeverReleases() {
        var spell = QuietSpell(quietSeconds: 2)
        for tick in 0..<100 {
            XCTAssertFalse(spell.shouldRelease(seeing: activity(0, started: 0), atNanoseconds: UInt64(tick) * second))
        }
    }

    func testReleasesOnceThePeriodHasPassedWithNothingStartedOrInFlight() {
        var spell = QuietSpell(quietSeconds: 2)
        XCTAssertFalse(spell.shouldRelease(seeing: activity(3, started: 3), atNanoseconds: 1 * second))
        XCTAssertFalse(spell.shouldRelease(seeing: activity(0, started: 3), atNanoseconds: 2 * second))
        XCTAssertFalse(spell.shouldRelease(seeing: activity(0, started: 3), atNanoseconds: 2 * second + second / 2))
        XCTAssertTrue(spell.shouldRelease(seeing: activity(0, started: 3), atNanoseconds: 3 * second))
        // Once per quiet spell: nothing new was served, so there is nothing new to give back.
        for tick in 4..<50 {
            XCTAssertFalse(spell.shouldRelease(seeing: activity(0, started: 3), atNanoseconds: UInt64(tick) * second))
        }
        // A request started and finished between two looks starts a new spell.
        XCTAssertFalse(spell.shouldRelease(seeing: activity(0, started: 4), atNanoseconds: 50 * second))
        XCTAssertFalse(spell.shouldRelease(seeing: activity(0, started: 4), atNanoseconds: 51 * second))
        XCTAssertTrue(spell.shouldRelease(seeing: activity(0, started: 4), atNanoseconds: 52 * second))
    }

    func testALongRequestInFlightKeepsTheWorkerBusy() {
        var spell = QuietSpell(quietSeconds: 2)
        XCTAssertFalse(spell.shouldRelease(seeing: activity(1, started: 1), atNanoseconds: 0))
        for tick in 1..<30 {
            XCTAssertFalse(spell.shouldRelease(seeing: activity(1, started: 1), atNanoseconds: UInt64(tick) * second))
        }
        // The period runs from the last look that saw it in flight (29 s).
        XCTAssertFalse(spell.shouldRelease(seeing: activity(0, started: 1), atNanoseconds: 30 * second))
        XCTAssertFalse(spell.shouldRelease(seeing: activity(0, started: 1), atNanoseconds: 31 * second - 1))
        XCTAssertTrue(spell.shouldRelease(seeing: activity(0, started: 1), atNanoseconds: 31 * second))
    }

    func testSteadyTrafficNeverLetsTheSpellComplete() {
        var spell = QuietSpell(quietSeconds: 2)
        for tick in 0..<100 {
            // One request a second, each finished before the next look.
            XCTAssertFalse(spell.shouldRelease(seeing: activity(0, started: tick + 1),
                                               atNanoseconds: UInt64(tick) * second))
        }
    }
}
