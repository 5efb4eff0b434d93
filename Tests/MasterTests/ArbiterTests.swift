import Glibc
import XCTest

@testable import Master

/// Drives an `Arbiter` the way `MasterLoop` does, with a fake clock and fake pids: spawn actions are answered at
/// once with the next pid, so tests read as "event → actions".
private struct Harness {
    typealias Action = Arbiter.Action

    var arbiter: Arbiter
    var now = 1000.0
    var nextPID: pid_t = 100
    /// Pid by slot of the workers spawned so far (latest spawn wins).
    var spawned: [(pid: pid_t, slot: Int, generation: Int)] = []

    init(workers: Int = 2, heartbeatTimeout: Double = 10, drainTimeout: Double = 30) {
        arbiter = Arbiter(settings: .init(workers: workers, heartbeatTimeout: heartbeatTimeout,
                                          drainTimeout: drainTimeout))
    }

    /// Performs spawns (answering `workerSpawned`) and returns every action, follow-ups included, with spawns
    /// rewritten as `.spawnWorker` of the pid they got (`WorkerID`s are an implementation detail).
    mutating func run(_ actions: [Action]) -> [Step] {
        var steps: [Step] = []
        var queue = actions[...]
        while let action = queue.popFirst() {
            if case .spawnWorker(let id, let slot, let generation) = action {
                let pid = nextPID
                nextPID += 1
                spawned.append((pid, slot, generation))
                steps.append(.spawned(pid: pid, slot: slot, generation: generation))
                queue.append(contentsOf: arbiter.workerSpawned(id, pid: pid, now: now))
            } else {
                steps.append(.action(action))
            }
        }
        return steps
    }

    enum Step: Equatable {
        case spawned(pid: pid_t, slot: Int, generation: Int)
        case action(Action)
    }

    mutating func start() -> [Step] { run(arbiter.start(now: now)) }
    mutating func ready(_ pid: pid_t) -> [Step] { run(arbiter.workerReady(pid: pid, now: now)) }
    mutating func exit(_ pid: pid_t, _ status: Arbiter.ExitStatus) -> [Step] {
        run(arbiter.reapWorkers([.init(pid: pid, status: status)], now: now))
    }
    mutating func tick() -> [Step] {
        run(arbiter.killUnresponsiveWorkers(now: now)) + run(arbiter.manageWorkers(now: now))
    }
    mutating func advance(_ seconds: Double) -> [Step] {
        now += seconds
        return tick()
    }
    mutating func heartbeatAll() {
        for pid in arbiter.livePIDs { arbiter.heartbeat(pid: pid, now: now) }
    }

    /// Boots `workers` workers and makes them ready; returns their pids by slot.
    mutating func boot() -> [pid_t] {
        let steps = start()
        let pids = steps.compactMap { step -> pid_t? in
            if case .spawned(let pid, _, _) = step { return pid }
            return nil
        }
        for pid in pids { _ = ready(pid) }
        return pids
    }

    func pid(slot: Int, generation: Int) -> pid_t? {
        spawned.last { $0.slot == slot && $0.generation == generation }?.pid
    }
}

final class ArbiterTests: XCTestCase {
    // MARK: - Boot

    func testBootSpawnsOneWorkerPerSlotAndAnnouncesOnceAllAreReady() {
        var harness = Harness(workers: 3)
        XCTAssertEqual(harness.start(), [
            .spawned(pid: 100, slot: 0, generation: 1), .spawned(pid: 101, slot: 1, generation: 1),
            .spawned(pid: 102, slot: 2, generation: 1),
        ])
        XCTAssertEqual(harness.ready(100), [])
        XCTAssertEqual(harness.ready(102), [])
        XCTAssertEqual(harness.arbiter.phase, .booting)
        XCTAssertEqual(harness.ready(101), [.action(.announceReady)])
        XCTAssertEqual(harness.arbiter.phase, .running)
        // A repeated ready (or one from an unknown pid) changes nothing.
        XCTAssertEqual(harness.ready(101), [])
        XCTAssertEqual(harness.ready(999), [])
        XCTAssertEqual(harness.arbiter.census.ready, 3)
    }

    func testBootFailureHaltsWithExitCode3InsteadOfRespawning() {
        var harness = Harness(workers: 2)
        _ = harness.start()
        _ = harness.ready(101)
        let steps = harness.exit(100, .exited(3))
        XCTAssertEqual(steps, [.action(.drainWorker(pid: 101))], "the others drain; nothing is respawned")
        XCTAssertTrue(harness.arbiter.isStopping)
        XCTAssertEqual(harness.advance(10), [], "no respawn, ever")
        XCTAssertEqual(harness.exit(101, .exited(0)), [.action(.closeSlot(0)), .action(.closeSlot(1)),
                                                       .action(.exit(code: 3))])
    }

    func testExitCode3AfterHavingBeenReadyIsAnOrdinaryCrash() {
        var harness = Harness(workers: 1)
        _ = harness.boot()
        XCTAssertEqual(harness.exit(100, .exited(3)), [])
        XCTAssertFalse(harness.arbiter.isStopping)
        XCTAssertEqual(harness.advance(0.1), [.spawned(pid: 101, slot: 0, generation: 1)])
    }

    // MARK: - Replacing workers

    func testExitedWorkerIsReplacedInItsSlotAfterTheFirstBackoffStep() {
        var harness = Harness(workers: 2)
        _ = harness.boot()
        XCTAssertEqual(harness.exit(101, .signaled(SIGKILL)), [], "not before the back-off")
        XCTAssertEqual(harness.arbiter.nextDeadline(), harness.now + 0.1)
        XCTAssertEqual(harness.advance(0.05), [])
        XCTAssertEqual(harness.advance(0.06), [.spawned(pid: 102, slot: 1, generation: 1)])
        XCTAssertEqual(harness.arbiter.restarts, 1)
        XCTAssertEqual(harness.ready(102), [], "a replacement is not a new readiness announcement")
    }

    func testCrashLoopBackoffDoublesUpToTenSeconds() {
        var harness = Harness(workers: 1)
        _ = harness.boot()
        var pid: pid_t = 100
        var delays: [Double] = []
        for _ in 0..<9 {
            _ = harness.exit(pid, .exited(1))
            guard let deadline = harness.arbiter.nextDeadline() else { return XCTFail("no respawn scheduled") }
            delays.append(((deadline - harness.now) * 1000).rounded() / 1000)
            harness.now = deadline
            let steps = harness.tick()
            guard case .spawned(let next, 0, 1)? = steps.first else { return XCTFail("no respawn: \(steps)") }
            pid = next
        }
        XCTAssertEqual(delays, [0.1, 0.2, 0.4, 0.8, 1.6, 3.2, 6.4, 10, 10])
    }

    func testBackoffResetsAfterThirtySecondsOfHealth() {
        var harness = Harness(workers: 1)
        _ = harness.boot()
        for _ in 0..<4 {
            _ = harness.exit(harness.arbiter.livePIDs[0], .exited(1))
            harness.now = harness.arbiter.nextDeadline()!
            _ = harness.tick()
        }
        // The fifth failure would wait 1.6 s; a worker that was ready for 30 s resets the count.
        let pid = harness.arbiter.livePIDs[0]
        _ = harness.ready(pid)
        harness.now += 30
        harness.heartbeatAll()
        _ = harness.exit(pid, .signaled(SIGSEGV))
        XCTAssertEqual(harness.arbiter.nextDeadline(), harness.now + 0.1)
    }

    func testSpawnFailureBacksOffLikeACrash() {
        var harness = Harness(workers: 1)
        let actions = harness.arbiter.start(now: harness.now)
        guard case .spawnWorker(let id, 0, 1)? = actions.first else { return XCTFail("\(actions)") }
        XCTAssertEqual(harness.arbiter.spawnFailed(id, now: harness.now), [])
        XCTAssertEqual(harness.arbiter.nextDeadline(), harness.now + 0.1)
        XCTAssertEqual(harness.advance(0.1), [.spawned(pid: 100, slot: 0, generation: 1)])
    }

    func testUnresponsiveWorkerIsKilledThenReplaced() {
        var harness = Harness(workers: 2, heartbeatTimeout: 5)
        _ = harness.boot()
        harness.now += 4
        harness.arbiter.heartbeat(pid: 100, now: harness.now)
        XCTAssertEqual(harness.advance(1), [.action(.killWorker(pid: 101))], "101 was silent for 5 s")
        XCTAssertEqual(harness.advance(0.5), [], "killed once, not again")
        XCTAssertEqual(harness.exit(101, .signaled(SIGKILL)), [])
        XCTAssertEqual(harness.advance(0.1), [.spawned(pid: 102, slot: 1, generation: 1)])
        XCTAssertEqual(harness.arbiter.restarts, 1)
    }

    func testAWorkerStuckWhileStartingIsKilledToo() {
        var harness = Harness(workers: 1, heartbeatTimeout: 5)
        _ = harness.start()
        XCTAssertEqual(harness.advance(5), [.action(.killWorker(pid: 100))])
    }

    // MARK: - Reload

    func testReloadStartsANewGenerationAndDrainsTheOldOneOnceItIsReady() {
        var harness = Harness(workers: 2)
        _ = harness.boot()
        let steps = harness.run(harness.arbiter.reload(settings: .init(workers: 2, heartbeatTimeout: 10,
                                                                       drainTimeout: 30), now: harness.now))
        XCTAssertEqual(steps, [.spawned(pid: 102, slot: 0, generation: 2), .spawned(pid: 103, slot: 1, generation: 2)])
        XCTAssertEqual(harness.arbiter.generation, 1, "still serving generation 1")
        XCTAssertEqual(harness.ready(103), [])
        XCTAssertEqual(harness.ready(102), [
            .action(.drainWorker(pid: 100)), .action(.drainWorker(pid: 101)),
            .action(.reloadCompleted(generation: 2)),
        ])
        XCTAssertEqual(harness.arbiter.generation, 2)
        // Old workers leaving as asked are not replaced.
        XCTAssertEqual(harness.exit(100, .exited(0)), [])
        harness.now += 29
        harness.heartbeatAll()
        XCTAssertEqual(harness.tick(), [])
        harness.now += 1
        harness.heartbeatAll()
        XCTAssertEqual(harness.tick(), [.action(.killWorker(pid: 101))], "past the drain timeout")
        XCTAssertEqual(harness.exit(101, .signaled(SIGKILL)), [])
        XCTAssertEqual(harness.arbiter.restarts, 0)
        XCTAssertEqual(harness.arbiter.livePIDs, [102, 103])
    }

    func testReloadHonoursANewWorkerCount() {
        var harness = Harness(workers: 3)
        _ = harness.boot()
        let steps = harness.run(harness.arbiter.reload(settings: .init(workers: 1, heartbeatTimeout: 10,
                                                                       drainTimeout: 30), now: harness.now))
        XCTAssertEqual(steps, [.spawned(pid: 103, slot: 0, generation: 2)])
        XCTAssertEqual(harness.ready(103), [
            .action(.drainWorker(pid: 100)), .action(.drainWorker(pid: 101)), .action(.drainWorker(pid: 102)),
            .action(.reloadCompleted(generation: 2)),
        ])
        XCTAssertEqual(harness.exit(100, .exited(0)), [], "slot 0 is still configured")
        XCTAssertEqual(harness.exit(102, .exited(0)), [.action(.closeSlot(2))])
        XCTAssertEqual(harness.exit(101, .exited(0)), [.action(.closeSlot(1))])
        XCTAssertEqual(harness.arbiter.census.configured, 1)
    }

    func testBootFailureOfTheNewGenerationAbortsTheReloadAndKeepsTheOldOne() {
        var harness = Harness(workers: 2)
        _ = harness.boot()
        _ = harness.run(harness.arbiter.reload(settings: .init(workers: 2, heartbeatTimeout: 10, drainTimeout: 30),
                                               now: harness.now))
        _ = harness.ready(102)
        XCTAssertEqual(harness.exit(103, .exited(3)), [
            .action(.reloadAborted(generation: 2, status: .exited(3))), .action(.drainWorker(pid: 102)),
        ])
        XCTAssertFalse(harness.arbiter.isStopping)
        XCTAssertEqual(harness.arbiter.generation, 1)
        XCTAssertNil(harness.arbiter.pending)
        XCTAssertEqual(harness.advance(1), [], "generation 1 still serves every slot")
    }

    func testAReloadDuringAReloadSupersedesIt() {
        var harness = Harness(workers: 1)
        _ = harness.boot()
        let settings = Arbiter.Settings(workers: 1, heartbeatTimeout: 10, drainTimeout: 30)
        XCTAssertEqual(harness.run(harness.arbiter.reload(settings: settings, now: harness.now)),
                       [.spawned(pid: 101, slot: 0, generation: 2)])
        XCTAssertEqual(harness.run(harness.arbiter.reload(settings: settings, now: harness.now)),
                       [.action(.drainWorker(pid: 101)), .spawned(pid: 102, slot: 0, generation: 3)])
        XCTAssertEqual(harness.ready(101), [], "the superseded generation never completes")
        XCTAssertEqual(harness.ready(102), [.action(.drainWorker(pid: 100)), .action(.reloadCompleted(generation: 3))])
    }

    func testAnOldWorkerDyingDuringAReloadIsNotReplacedWithTheOldGeneration() {
        var harness = Harness(workers: 1)
        _ = harness.boot()
        _ = harness.run(harness.arbiter.reload(settings: .init(workers: 1, heartbeatTimeout: 10, drainTimeout: 30),
                                               now: harness.now))
        XCTAssertEqual(harness.exit(100, .signaled(SIGKILL)), [])
        XCTAssertEqual(harness.advance(1), [], "generation 2's worker is coming for slot 0")
        XCTAssertEqual(harness.ready(101), [.action(.reloadCompleted(generation: 2))])
    }

    // MARK: - Stop

    func testGracefulStopDrainsEveryWorkerKillsStragglersAtTheDeadlineThenExits0() {
        var harness = Harness(workers: 2, drainTimeout: 5)
        _ = harness.boot()
        XCTAssertEqual(harness.run(harness.arbiter.stop(graceful: true, now: harness.now)), [
            .action(.drainWorker(pid: 100)), .action(.drainWorker(pid: 101)),
        ])
        XCTAssertEqual(harness.run(harness.arbiter.stop(graceful: true, now: harness.now)), [], "TERM twice")
        XCTAssertEqual(harness.exit(100, .exited(0)), [], "nothing respawns while stopping")
        XCTAssertEqual(harness.advance(4.9), [])
        XCTAssertEqual(harness.advance(0.2), [.action(.killWorker(pid: 101))])
        XCTAssertEqual(harness.exit(101, .signaled(SIGKILL)), [
            .action(.closeSlot(0)), .action(.closeSlot(1)), .action(.exit(code: 0)),
        ])
        XCTAssertEqual(harness.advance(1), [], "exit is announced once")
    }

    func testImmediateStopKillsAtOnceAndEscalatesAGracefulOne() {
        var harness = Harness(workers: 2)
        _ = harness.boot()
        _ = harness.run(harness.arbiter.stop(graceful: true, now: harness.now))
        XCTAssertEqual(harness.run(harness.arbiter.stop(graceful: false, now: harness.now)), [
            .action(.killWorker(pid: 100)), .action(.killWorker(pid: 101)),
        ])
        _ = harness.exit(100, .signaled(SIGKILL))
        XCTAssertEqual(harness.exit(101, .signaled(SIGKILL)).last, .action(.exit(code: 0)))
    }

    func testAWorkerWhoseSpawnIsInFlightWhenTheStopArrivesIsDrainedOnceItHasAPid() {
        var arbiter = Arbiter(settings: .init(workers: 1, heartbeatTimeout: 10, drainTimeout: 30))
        let actions = arbiter.start(now: 0)
        guard case .spawnWorker(let id, _, _)? = actions.first else { return XCTFail("\(actions)") }
        XCTAssertEqual(arbiter.stop(graceful: true, now: 0), [])
        XCTAssertEqual(arbiter.workerSpawned(id, pid: 42, now: 0), [.drainWorker(pid: 42)])
    }

    func testStopWithNoWorkersExitsAtOnce() {
        var arbiter = Arbiter(settings: .init(workers: 1, heartbeatTimeout: 10, drainTimeout: 30))
        XCTAssertEqual(arbiter.stop(graceful: true, now: 0), [.exit(code: 0)])
    }

    // MARK: - TTIN / TTOU

    func testTTINAddsASlotAndTTOURetiresTheHighestOneButNeverTheLast() {
        var harness = Harness(workers: 1)
        _ = harness.boot()
        XCTAssertEqual(harness.run(harness.arbiter.incrementWorkers(now: harness.now)),
                       [.spawned(pid: 101, slot: 1, generation: 1)])
        _ = harness.ready(101)
        XCTAssertEqual(harness.arbiter.census.configured, 2)
        XCTAssertEqual(harness.run(harness.arbiter.decrementWorkers(now: harness.now)),
                       [.action(.drainWorker(pid: 101))])
        XCTAssertEqual(harness.exit(101, .exited(0)), [.action(.closeSlot(1))])
        XCTAssertEqual(harness.run(harness.arbiter.decrementWorkers(now: harness.now)), [], "never below one")
        XCTAssertEqual(harness.arbiter.census.configured, 1)
        XCTAssertEqual(harness.arbiter.livePIDs, [100])
    }

    func testTTOUDuringBootCanCompleteTheBoot() {
        var harness = Harness(workers: 2)
        _ = harness.start()
        _ = harness.ready(100)
        XCTAssertEqual(harness.run(harness.arbiter.decrementWorkers(now: harness.now)),
                       [.action(.drainWorker(pid: 101)), .action(.announceReady)])
    }

    // MARK: - Back-off arithmetic and deadlines

    func testBackoffDelays() {
        let backoff = Arbiter.Backoff()
        XCTAssertEqual(backoff.delay(failures: 0), 0)
        XCTAssertEqual(backoff.delay(failures: 1), 0.1, accuracy: 1e-9)
        XCTAssertEqual(backoff.delay(failures: 4), 0.8, accuracy: 1e-9)
        XCTAssertEqual(backoff.delay(failures: 1000), 10)
    }

    func testNextDeadlineIsTheEarliestHeartbeatOrDrainDeadline() {
        var harness = Harness(workers: 1, heartbeatTimeout: 10, drainTimeout: 3)
        _ = harness.boot()
        XCTAssertEqual(harness.arbiter.nextDeadline(), harness.now + 10)
        _ = harness.run(harness.arbiter.stop(graceful: true, now: harness.now))
        XCTAssertEqual(harness.arbiter.nextDeadline(), harness.now + 3)
    }
}
