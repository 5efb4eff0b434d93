import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import Shared
import TestSupport
import XCTest

@testable import Worker

/// `LoopClock`: one timer per event loop that looks at every registered subscriber on each tick.
final class LoopClockTests: SingleLoopTestCase {
    /// Records its ticks; on a tick it may remove subscribers (itself among them) from the clock.
    private final class Recorder: LoopClockSubscriber, @unchecked Sendable {
        var loopClockSlot: Int?
        var ticks = 0
        var removeOnTick: [Recorder] = []
        weak var clock: LoopClock?

        func loopClockTicked(now: NIODeadline) {
            ticks += 1
            for subscriber in removeOnTick { clock?.remove(subscriber) }
        }
    }

    private func onLoop<T: Sendable>(_ body: @escaping @Sendable () -> T) throws -> T {
        try loop.submit(body).wait()
    }

    /// Whether `condition`, read on the loop, holds within 5 s: the clock's ticks come when the loop's thread runs,
    /// which on a loaded machine can be well after they are due.
    private func eventuallyOnLoop(_ condition: @escaping @Sendable () -> Bool) throws -> Bool {
        try eventually(every: 0.005) { try onLoop(condition) }
    }

    func testTicksWhileAnythingIsRegisteredAndStopsWhenNothingIs() throws {
        let clock = LoopClock(loop: loop, tick: .milliseconds(5))
        let first = Recorder()
        let second = Recorder()
        XCTAssertFalse(try onLoop { clock.isTicking })
        try onLoop {
            clock.add(first)
            clock.add(second)
            clock.add(first)  // already registered: nothing changes
        }
        XCTAssertEqual(try onLoop { clock.subscriberCount }, 2)
        XCTAssertTrue(try eventuallyOnLoop { first.ticks >= 3 }, "the clock ticks")
        let (firstTicks, secondTicks) = try onLoop { (first.ticks, second.ticks) }
        XCTAssertEqual(firstTicks, secondTicks, "every tick looks at every subscriber once")

        let (before, secondBefore) = try onLoop {
            clock.remove(first)
            clock.remove(first)  // no longer registered: ignored
            return (first.ticks, second.ticks)
        }
        XCTAssertTrue(try eventuallyOnLoop { second.ticks >= secondBefore + 3 }, "the other is still looked at")
        XCTAssertEqual(try onLoop { first.ticks }, before, "a removed subscriber is not looked at")

        let stoppedAt = try onLoop {
            clock.remove(second)
            return second.ticks
        }
        XCTAssertTrue(try eventuallyOnLoop { !clock.isTicking }, "the clock stops at the first tick that finds nothing")
        XCTAssertEqual(try onLoop { second.ticks }, stoppedAt, "a removed subscriber is not looked at")
        try onLoop { clock.add(second) }
        XCTAssertTrue(try onLoop { clock.isTicking })
        XCTAssertTrue(try eventuallyOnLoop { second.ticks > stoppedAt }, "adding one starts the clock again")
    }

    /// A subscriber's check can end it or others (a connection closed, a stream failed): those removed during a
    /// tick are not looked at later in it, and the list stays whole for the rest.
    func testSubscribersRemovedDuringATickAreSkippedAndTheRestKeepTicking() throws {
        let clock = LoopClock(loop: loop, tick: .milliseconds(5))
        let subscribers = (0..<6).map { _ in Recorder() }
        for subscriber in subscribers { subscriber.clock = clock }
        // The first removes itself and the last two; their places are filled by swaps in the same tick.
        subscribers[0].removeOnTick = [subscribers[0], subscribers[4], subscribers[5]]
        try onLoop { for subscriber in subscribers { clock.add(subscriber) } }
        XCTAssertTrue(try eventuallyOnLoop { subscribers[1].ticks >= 3 }, "the clock ticks")
        let ticks = try onLoop { subscribers.map(\.ticks) }
        XCTAssertEqual(ticks[0], 1)
        XCTAssertEqual(ticks[4], 0, "removed before its turn came")
        XCTAssertEqual(ticks[5], 0, "removed before its turn came")
        XCTAssertGreaterThanOrEqual(ticks[1], 3)
        XCTAssertEqual(Set(ticks[1...3]).count, 1, "the others are each looked at once a tick: \(ticks)")
        XCTAssertEqual(try onLoop { clock.subscriberCount }, 3)
        XCTAssertEqual(try onLoop { subscribers.map { $0.loopClockSlot != nil } },
                       [false, true, true, true, false, false])
        // Each remaining one can still be removed by its slot, whatever the swaps made of it.
        try onLoop { for subscriber in subscribers[1...3].reversed() { clock.remove(subscriber) } }
        XCTAssertEqual(try onLoop { clock.subscriberCount }, 0)
    }

    func testTheTickIsAQuarterOfThePingIntervalAndAnEighthOfEachTimeout() throws {
        func tick(_ values: [String: String]) throws -> TimeAmount {
            var settings = ["CEREBRAS_API_KEY": "csk-test", "GATEWAY_API_KEYS": "k"]
            settings.merge(values) { $1 }
            return LoopClock.tick(for: try GatewayConfig(source: ConfigSource(values: settings), cpuCount: 1))
        }
        XCTAssertEqual(try tick([:]), .milliseconds(2_500), "the defaults: a quarter of the 10 s ping interval")
        XCTAssertEqual(try tick(["REQUEST_TIMEOUT_SECONDS": "8"]), .seconds(1))
        XCTAssertEqual(try tick(["UPSTREAM_IDLE_TIMEOUT_SECONDS": "0.4"]), .milliseconds(50))
        XCTAssertEqual(try tick(["UPSTREAM_FIRST_BYTE_TIMEOUT_SECONDS": "1.6"]), .milliseconds(200))
        XCTAssertEqual(try tick(["IDLE_TIMEOUT_SECONDS": "4"]), .milliseconds(500))
        XCTAssertEqual(try tick(["PING_INTERVAL_SECONDS": "2"]), .milliseconds(500))
    }
}
