import Glibc

/// The supervisor's decision logic, in gunicorn's vocabulary: a pure state machine over the worker table.
///
/// Events go in (a worker spawned, became ready, sent a heartbeat, exited; a signal asked to stop, reload or
/// resize; time passed), `Action`s come out and `MasterLoop` performs them. The arbiter does no I/O and reads
/// no clock: `now` is monotonic seconds supplied by the caller, so every transition is unit-testable.
struct Arbiter {
    /// Identifies a worker before its pid is known (between `spawnWorker` and `workerSpawned`).
    struct WorkerID: Hashable, Sendable, Comparable, CustomStringConvertible {
        let rawValue: Int
        static func < (lhs: WorkerID, rhs: WorkerID) -> Bool { lhs.rawValue < rhs.rawValue }
        var description: String { "#\(rawValue)" }
    }

    struct Settings: Equatable, Sendable {
        var workers: Int
        var heartbeatTimeout: Double
        var drainTimeout: Double
        var backoff = Backoff()
    }

    /// Crash-loop protection per slot: the n-th consecutive failure waits `initial × 2^(n-1)`, at most `maximum`;
    /// a worker that stayed ready for `resetAfter` seconds clears the count.
    struct Backoff: Equatable, Sendable {
        var initial = 0.1
        var maximum = 10.0
        var resetAfter = 30.0

        func delay(failures: Int) -> Double {
            guard failures > 0 else { return 0 }
            var delay = initial
            for _ in 1..<failures where delay < maximum { delay *= 2 }
            return min(delay, maximum)
        }
    }

    /// How a worker process ended (from `waitpid`).
    enum ExitStatus: Equatable, Sendable, CustomStringConvertible {
        case exited(Int32)
        case signaled(Int32)

        var description: String {
            switch self {
            case .exited(let code): return "exit code \(code)"
            case .signaled(let signal): return "signal \(signal)"
            }
        }
    }

    struct WorkerExit: Equatable, Sendable {
        var pid: pid_t
        var status: ExitStatus
    }

    /// The exit code a worker uses when it cannot boot (bad configuration, unusable inherited socket).
    static let bootFailureExitCode: Int32 = 3

    enum Action: Equatable, Sendable {
        /// Start a worker in `slot` (opening the slot's listener if needed); answer with `workerSpawned`/`spawnFailed`.
        case spawnWorker(WorkerID, slot: Int, generation: Int)
        /// Ask a worker to stop accepting, finish in-flight requests and exit (`.drain` on its control channel).
        case drainWorker(pid: pid_t)
        /// SIGKILL.
        case killWorker(pid: pid_t)
        /// The slot is no longer configured and its last worker is gone: close its listener.
        case closeSlot(Int)
        /// Every configured slot has a ready worker for the first time: print the readiness line, notify systemd.
        case announceReady
        /// The new generation is ready in every slot and the old one is draining.
        case reloadCompleted(generation: Int)
        /// A worker of the new generation failed to boot: the new generation is drained, the old one keeps serving.
        case reloadAborted(generation: Int, status: ExitStatus)
        /// Every worker is gone after a stop: exit the master with this code.
        case exit(code: Int32)
    }

    enum WorkerState: Equatable, Sendable {
        /// Spawn requested; the pid is not known yet.
        case spawning
        /// Running, not yet reported ready.
        case starting
        case ready(since: Double)
        /// Asked to drain; killed at `deadline`.
        case draining(deadline: Double)
        /// SIGKILL sent, waiting for the reap. `replace`: it was killed for hanging, not retired.
        case killed(replace: Bool)
    }

    struct Worker: Equatable, Sendable {
        let id: WorkerID
        let slot: Int
        let generation: Int
        var pid: pid_t?
        let spawnedAt: Double
        /// Spawn time, then the time of the last message (ready or heartbeat).
        var lastSeen: Double
        var state: WorkerState

        var everReady = false

        /// Occupies its slot for its generation (a worker killed for hanging occupies it until reaped, then is
        /// replaced).
        var isServing: Bool {
            switch state {
            case .spawning, .starting, .ready, .killed(replace: true): return true
            case .draining, .killed(replace: false): return false
            }
        }

        /// Can still be asked to drain.
        var isActive: Bool {
            switch state {
            case .spawning, .starting, .ready: return true
            case .draining, .killed: return false
            }
        }
    }

    enum Phase: Equatable, Sendable {
        /// Waiting for the first full set of ready workers.
        case booting
        case running
        /// Draining (deadline set) or killing (graceful == false) every worker, then exit with `exitCode`.
        case stopping(deadline: Double?, exitCode: Int32)
        /// The `.exit` action was emitted.
        case exited
    }

    /// A reload in progress: the generation being started and its worker count.
    struct PendingGeneration: Equatable, Sendable {
        var generation: Int
        var workers: Int
    }

    struct SlotBackoff: Equatable, Sendable {
        var failures = 0
        var notBefore = 0.0
    }

    private(set) var settings: Settings
    private(set) var phase: Phase = .booting
    private(set) var generation = 1
    private(set) var pending: PendingGeneration?
    private(set) var workers: [WorkerID: Worker] = [:]
    private(set) var backoff: [Int: SlotBackoff] = [:]
    /// Slots whose listener the master holds (opened by a spawn, closed by `closeSlot`).
    private(set) var openSlots: Set<Int> = []
    /// Workers replaced after exiting or hanging.
    private(set) var restarts = 0
    private var nextID = 1

    init(settings: Settings) {
        precondition(settings.workers >= 1, "Arbiter needs at least one worker, got \(settings.workers)")
        self.settings = settings
    }

    // MARK: - Queries

    var configuredWorkers: Int { pending?.workers ?? settings.workers }

    var isStopping: Bool {
        switch phase {
        case .stopping, .exited: return true
        case .booting, .running: return false
        }
    }

    func worker(pid: pid_t) -> Worker? { workers.values.first { $0.pid == pid } }

    /// Pids of every process the master still has to reap.
    var livePIDs: [pid_t] { workers.values.compactMap(\.pid).sorted() }

    /// Counts for health and metrics.
    var census: Census {
        var census = Census(configured: configuredWorkers, generation: generation)
        for worker in workers.values {
            census.alive += worker.pid == nil ? 0 : 1
            switch worker.state {
            case .spawning, .starting: census.starting += 1
            case .ready: census.ready += 1
            case .draining: census.draining += 1
            case .killed: census.killed += 1
            }
        }
        return census
    }

    struct Census: Equatable, Sendable {
        var configured: Int
        var generation: Int
        var alive = 0
        var starting = 0
        var ready = 0
        var draining = 0
        var killed = 0
    }

    /// The earliest time at which `manageWorkers`/`killUnresponsiveWorkers` would act: the loop sleeps until then.
    func nextDeadline() -> Double? {
        var deadlines: [Double] = []
        switch phase {
        case .stopping(let deadline?, _):
            // Once every worker is killed only the reaps are awaited (SIGCHLD wakes the loop): a past deadline would
            // make the loop spin.
            if workers.values.contains(where: { if case .killed = $0.state { return false } else { return true } }) {
                deadlines.append(deadline)
            }
        case .booting, .running:
            let target = pending?.generation ?? generation
            for slot in 0..<configuredWorkers where !hasServingWorker(slot: slot, generation: target) {
                deadlines.append(backoff[slot]?.notBefore ?? 0)
            }
            for worker in workers.values {
                switch worker.state {
                case .draining(let deadline): deadlines.append(deadline)
                case .starting, .ready: deadlines.append(worker.lastSeen + settings.heartbeatTimeout)
                case .spawning, .killed: break
                }
            }
        case .stopping(nil, _), .exited:
            break
        }
        return deadlines.min()
    }

    // MARK: - Lifecycle events

    /// Boot: spawns the first generation.
    mutating func start(now: Double) -> [Action] {
        manageWorkers(now: now)
    }

    /// The spawn requested by `.spawnWorker(id, …)` succeeded.
    mutating func workerSpawned(_ id: WorkerID, pid: pid_t, now: Double) -> [Action] {
        guard var worker = workers[id], worker.pid == nil else {
            preconditionFailure("workerSpawned for \(id): \(String(describing: workers[id]))")
        }
        worker.pid = pid
        worker.lastSeen = now
        workers[id] = worker
        // Retired while the spawn was in flight: deliver the order now that there is a pid.
        switch worker.state {
        case .spawning:
            workers[id]?.state = .starting
            return []
        case .draining:
            return [.drainWorker(pid: pid)]
        case .killed:
            return [.killWorker(pid: pid)]
        case .starting, .ready:
            preconditionFailure("workerSpawned for \(id) in state \(worker.state)")
        }
    }

    /// The spawn requested by `.spawnWorker(id, …)` failed (posix_spawn error): counts as a crash of the slot.
    mutating func spawnFailed(_ id: WorkerID, now: Double) -> [Action] {
        guard let worker = workers.removeValue(forKey: id), worker.pid == nil else {
            preconditionFailure("spawnFailed for \(id): \(String(describing: workers[id]))")
        }
        if worker.state == .spawning, !isStopping, worker.generation == (pending?.generation ?? generation) {
            recordFailure(slot: worker.slot, worker: worker, now: now)
        }
        return manageWorkers(now: now)
    }

    /// The worker reported `.ready`.
    mutating func workerReady(pid: pid_t, now: Double) -> [Action] {
        guard let id = id(of: pid), var worker = workers[id] else { return [] }
        worker.lastSeen = now
        guard worker.state == .starting else {
            workers[id] = worker
            return []
        }
        worker.state = .ready(since: now)
        worker.everReady = true
        workers[id] = worker
        return checkGenerationReady(now: now)
    }

    /// Any message from the worker proves its event loop turns.
    mutating func heartbeat(pid: pid_t, now: Double) {
        guard let id = id(of: pid) else { return }
        workers[id]?.lastSeen = now
    }

    /// Processes reaped by `waitpid`: forget them, replace the ones that were not meant to exit.
    mutating func reapWorkers(_ exits: [WorkerExit], now: Double) -> [Action] {
        var actions: [Action] = []
        for exit in exits {
            guard let id = id(of: exit.pid), let worker = workers.removeValue(forKey: id) else { continue }
            actions += handleExit(of: worker, status: exit.status, now: now)
        }
        return actions + manageWorkers(now: now)
    }

    /// SIGKILLs every starting or ready worker silent for longer than the heartbeat timeout; it is replaced once
    /// reaped.
    mutating func killUnresponsiveWorkers(now: Double) -> [Action] {
        guard !isStopping else { return [] }
        var actions: [Action] = []
        for (id, worker) in workers.sorted(by: { $0.key < $1.key }) {
            switch worker.state {
            case .starting, .ready:
                if now - worker.lastSeen >= settings.heartbeatTimeout { actions += kill(id, replace: true) }
            case .spawning, .draining, .killed:
                break
            }
        }
        return actions
    }

    /// Brings the table to the configured shape: spawns missing workers (respecting back-off), kills draining
    /// workers past their deadline, closes unused slots, and finishes a stop once every worker is gone.
    mutating func manageWorkers(now: Double) -> [Action] {
        var actions: [Action] = []
        switch phase {
        case .exited:
            return []
        case .stopping(let deadline, let code):
            if let deadline, now >= deadline {
                for (id, worker) in workers.sorted(by: { $0.key < $1.key }) {
                    if case .killed = worker.state { continue }
                    actions += kill(id, replace: false)
                }
            }
            if workers.isEmpty {
                for slot in openSlots.sorted() { actions.append(closeSlot(slot)) }
                phase = .exited
                actions.append(.exit(code: code))
            }
            return actions
        case .booting, .running:
            break
        }
        for (id, worker) in workers.sorted(by: { $0.key < $1.key }) {
            if case .draining(let deadline) = worker.state, now >= deadline {
                actions += kill(id, replace: false)
            }
        }
        let target = pending?.generation ?? generation
        for slot in 0..<configuredWorkers where !hasServingWorker(slot: slot, generation: target) {
            if (backoff[slot]?.notBefore ?? 0) <= now {
                actions.append(spawnWorker(slot: slot, generation: target, now: now))
            }
        }
        for slot in openSlots.sorted()
        where slot >= max(settings.workers, configuredWorkers) && !workers.values.contains(where: { $0.slot == slot }) {
            actions.append(closeSlot(slot))
        }
        return actions
    }

    /// Graceful: drain every worker, SIGKILL what is left after the drain timeout. Not graceful: SIGKILL at once.
    /// Exits 0 once every worker is reaped.
    mutating func stop(graceful: Bool, now: Double) -> [Action] {
        stop(graceful: graceful, exitCode: 0, now: now)
    }

    /// A valid new configuration: start a full new generation next to the current one; the current one drains once
    /// the new one is ready in every slot.
    mutating func reload(settings newSettings: Settings, now: Double) -> [Action] {
        guard !isStopping else { return [] }
        precondition(newSettings.workers >= 1, "reload to \(newSettings.workers) workers")
        var actions: [Action] = []
        settings.heartbeatTimeout = newSettings.heartbeatTimeout
        settings.drainTimeout = newSettings.drainTimeout
        settings.backoff = newSettings.backoff
        // A new reload supersedes one in progress: its workers may already accept connections, so drain them.
        let superseded = pending?.generation
        let next = max(generation, superseded ?? 0) + 1
        if phase == .booting {
            // Nothing was announced yet: replace the booting set outright.
            for (id, worker) in workers.sorted(by: { $0.key < $1.key }) where worker.isActive {
                actions += retire(id, now: now)
            }
            generation = next
            pending = nil
            settings.workers = newSettings.workers
        } else {
            if let superseded {
                for (id, worker) in workers.sorted(by: { $0.key < $1.key })
                where worker.generation == superseded && worker.isActive {
                    actions += retire(id, now: now)
                }
            }
            pending = PendingGeneration(generation: next, workers: newSettings.workers)
        }
        // Back-off belongs to the configuration that crashed: a new one starts with a clean slate.
        backoff = [:]
        return actions + manageWorkers(now: now)
    }

    /// SIGTTIN: one worker more.
    mutating func incrementWorkers(now: Double) -> [Action] {
        guard !isStopping else { return [] }
        settings.workers += 1
        if pending != nil { pending?.workers += 1 }
        return manageWorkers(now: now)
    }

    /// SIGTTOU: one worker less (never below one). The highest slot drains and its listener closes once empty.
    mutating func decrementWorkers(now: Double) -> [Action] {
        guard !isStopping, configuredWorkers > 1 else { return [] }
        settings.workers = max(1, settings.workers - 1)
        if pending != nil { pending?.workers -= 1 }
        var actions: [Action] = []
        let keep = max(settings.workers, configuredWorkers)
        for (id, worker) in workers.sorted(by: { $0.key < $1.key }) where worker.slot >= keep && worker.isActive {
            actions += retire(id, now: now)
        }
        return actions + checkGenerationReady(now: now) + manageWorkers(now: now)
    }

    // MARK: - Internals

    private func id(of pid: pid_t) -> WorkerID? {
        workers.first { $0.value.pid == pid }?.key
    }

    private func hasServingWorker(slot: Int, generation: Int) -> Bool {
        workers.values.contains { $0.slot == slot && $0.generation == generation && $0.isServing }
    }

    private func hasReadyWorker(slot: Int, generation: Int) -> Bool {
        workers.values.contains {
            guard $0.slot == slot, $0.generation == generation, case .ready = $0.state else { return false }
            return true
        }
    }

    private mutating func spawnWorker(slot: Int, generation: Int, now: Double) -> Action {
        let id = WorkerID(rawValue: nextID)
        nextID += 1
        workers[id] = Worker(id: id, slot: slot, generation: generation, pid: nil, spawnedAt: now, lastSeen: now,
                             state: .spawning)
        openSlots.insert(slot)
        return .spawnWorker(id, slot: slot, generation: generation)
    }

    /// Marks the worker draining; the order goes out now, or from `workerSpawned` when its spawn is in flight.
    private mutating func drain(_ id: WorkerID, deadline: Double) -> [Action] {
        workers[id]?.state = .draining(deadline: deadline)
        return workers[id]?.pid.map { [.drainWorker(pid: $0)] } ?? []
    }

    private mutating func kill(_ id: WorkerID, replace: Bool) -> [Action] {
        workers[id]?.state = .killed(replace: replace)
        return workers[id]?.pid.map { [.killWorker(pid: $0)] } ?? []
    }

    private mutating func retire(_ id: WorkerID, now: Double) -> [Action] {
        drain(id, deadline: now + settings.drainTimeout)
    }

    private mutating func closeSlot(_ slot: Int) -> Action {
        openSlots.remove(slot)
        backoff[slot] = nil
        return .closeSlot(slot)
    }

    private mutating func stop(graceful: Bool, exitCode: Int32, now: Double) -> [Action] {
        var actions: [Action] = []
        switch phase {
        case .exited:
            return []
        case .stopping(let deadline, let code):
            // A second graceful stop changes nothing; an immediate one escalates.
            guard !graceful, deadline != nil else { return [] }
            phase = .stopping(deadline: nil, exitCode: code)
        case .booting, .running:
            phase = .stopping(deadline: graceful ? now + settings.drainTimeout : nil, exitCode: exitCode)
            pending = nil
        }
        for (id, worker) in workers.sorted(by: { $0.key < $1.key }) {
            switch (graceful, worker.state) {
            case (_, .killed(replace: false)), (true, .draining):
                continue
            case (true, .killed(replace: true)):
                workers[id]?.state = .killed(replace: false)  // already dying; just do not replace it
            case (true, _):
                actions += drain(id, deadline: now + settings.drainTimeout)
            case (false, _):
                actions += kill(id, replace: false)
            }
        }
        return actions + manageWorkers(now: now)
    }

    private mutating func handleExit(of worker: Worker, status: ExitStatus, now: Double) -> [Action] {
        if isStopping { return [] }
        let bootFailure = status == .exited(Self.bootFailureExitCode) && !worker.everReady
            && worker.state == .starting
        if bootFailure {
            if let pending, worker.generation == pending.generation {
                // The new configuration cannot boot: keep the serving generation, drop the new one.
                self.pending = nil
                var actions: [Action] = [.reloadAborted(generation: pending.generation, status: status)]
                for (id, other) in workers.sorted(by: { $0.key < $1.key })
                where other.generation == pending.generation && other.isActive {
                    actions += retire(id, now: now)
                }
                return actions
            }
            if worker.generation == generation {
                // gunicorn's WORKER_BOOT_ERROR: respawning would only loop. Stop everything and exit 3.
                return stop(graceful: true, exitCode: Self.bootFailureExitCode, now: now)
            }
        }
        switch worker.state {
        case .draining, .killed(replace: false):
            return []  // retired as asked
        case .spawning, .starting, .ready, .killed(replace: true):
            break
        }
        // Replaced only if its slot still wants its generation; an old-generation worker dying during a reload is
        // covered by the new generation's worker in that slot.
        if worker.slot < configuredWorkers, worker.generation == (pending?.generation ?? generation) {
            recordFailure(slot: worker.slot, worker: worker, now: now)
            restarts += 1
        }
        return []
    }

    private mutating func recordFailure(slot: Int, worker: Worker, now: Double) {
        var state = backoff[slot] ?? SlotBackoff()
        if case .ready(let since) = worker.state, now - since >= settings.backoff.resetAfter { state.failures = 0 }
        state.failures += 1
        state.notBefore = now + settings.backoff.delay(failures: state.failures)
        backoff[slot] = state
    }

    /// Announces the first full set of ready workers, or completes a reload once the new generation is ready in
    /// every slot (and drains the old one).
    private mutating func checkGenerationReady(now: Double) -> [Action] {
        if let pending {
            guard (0..<pending.workers).allSatisfy({ hasReadyWorker(slot: $0, generation: pending.generation) })
            else { return [] }
            self.pending = nil
            generation = pending.generation
            settings.workers = pending.workers
            var actions: [Action] = []
            for (id, worker) in workers.sorted(by: { $0.key < $1.key })
            where worker.generation != generation && worker.isActive {
                actions += retire(id, now: now)
            }
            actions.append(.reloadCompleted(generation: generation))
            return actions
        }
        guard phase == .booting,
            (0..<settings.workers).allSatisfy({ hasReadyWorker(slot: $0, generation: generation) })
        else { return [] }
        phase = .running
        return [.announceReady]
    }
}
