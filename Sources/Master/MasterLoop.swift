import Glibc
import Logging
import Shared

/// The master's I/O loop (nginx's master cycle): sleeps until a signal, a control event, a deadline or the 1 s
/// tick; feeds what happened to the `Arbiter`; performs the actions it returns. It runs on the main thread and is
/// the only code that changes the worker table.
final class MasterLoop {
    /// Everything decided at start that a reload does not change.
    struct Context {
        var processEnvironment: [String: String]
        var flags: [String]
        /// HOST and PORT as configured at start (0 stays 0): a reload compares against these.
        var configuredHost: String
        var configuredPort: Int
        var configuredAdminHost: String
        var configuredAdminPort: Int
        /// The bound admin port, or -1.
        var adminPort: Int
    }

    private var arbiter: Arbiter
    private let context: Context
    private let listeners: SlotListeners
    private let spawner: WorkerSpawner
    private let channels: ControlChannels
    private let inbox: SignalQueue<ControlEvent>
    private let metrics: NodeMetrics
    private let notifier: SystemdNotifier?
    private var logger: Logger

    /// The environment of each generation that still has (or may get) workers.
    private var environments: [Int: [String]] = [:]
    private var lastReload = ReloadRecord.none
    private var reloadsSucceeded = 0
    private var reloadsFailed = 0
    /// Reaped workers whose control channel has not reported its end yet, and the reverse: a worker's metrics
    /// retire once both happened, so its last heartbeat is never lost or counted twice.
    private var reapedAwaitingChannel: Set<pid_t> = []
    private var channelClosedAwaitingReap: Set<pid_t> = []
    private var nextWatchdog: Double?
    private var exitCode: Int32?
    private var stoppingNotified = false

    init(config: GatewayConfig, source: ConfigSource, context: Context, listeners: SlotListeners,
         spawner: WorkerSpawner, channels: ControlChannels, inbox: SignalQueue<ControlEvent>, metrics: NodeMetrics,
         notifier: SystemdNotifier?, logger: Logger) {
        arbiter = Arbiter(settings: Self.settings(from: config))
        self.context = context
        self.listeners = listeners
        self.spawner = spawner
        self.channels = channels
        self.inbox = inbox
        self.metrics = metrics
        self.notifier = notifier
        self.logger = logger
        environments[arbiter.generation] = workerEnvironment(source)
    }

    static func settings(from config: GatewayConfig) -> Arbiter.Settings {
        Arbiter.Settings(workers: config.workers, heartbeatTimeout: config.heartbeatTimeout,
                         drainTimeout: config.drainTimeout)
    }

    /// Runs until every worker is gone after a stop; returns the master's exit code.
    func run() -> Int32 {
        if let interval = notifier?.watchdogInterval { nextWatchdog = MonotonicClock.now() + interval }
        perform(arbiter.start(now: MonotonicClock.now()))
        publish()
        while exitCode == nil {
            let now = MonotonicClock.now()
            var wake = now + 1
            if let deadline = arbiter.nextDeadline() { wake = min(wake, deadline) }
            if let nextWatchdog { wake = min(wake, nextWatchdog) }
            let (signals, events) = inbox.wait(timeout: wake - now)
            for event in events { handle(event) }
            for signal in signals { handle(signal: signal) }
            reapWorkers()
            perform(arbiter.killUnresponsiveWorkers(now: MonotonicClock.now()))
            perform(arbiter.manageWorkers(now: MonotonicClock.now()))
            sendWatchdog()
            publish()
        }
        return exitCode ?? 0
    }

    // MARK: - Inputs

    private func handle(_ event: ControlEvent) {
        let now = MonotonicClock.now()
        switch event {
        case .ready(let pid):
            if let worker = arbiter.worker(pid: pid) {
                logger.info("worker ready", metadata: workerMetadata(worker))
            }
            perform(arbiter.workerReady(pid: pid, now: now))
        case .heartbeat(let pid, _, let snapshot):
            arbiter.heartbeat(pid: pid, now: now)
            metrics.record(pid: pid, snapshot: snapshot)
        case .closed(let pid):
            if reapedAwaitingChannel.remove(pid) != nil {
                metrics.retire(pid: pid)
            } else {
                channelClosedAwaitingReap.insert(pid)
            }
        }
    }

    private func handle(signal: Int32) {
        let now = MonotonicClock.now()
        switch signal {
        case SIGTERM, SIGINT:
            guard !arbiter.isStopping else { return }
            logger.notice("graceful stop requested", metadata: ["signal.name": "\(Self.name(of: signal))"])
            notifyStopping("Draining workers")
            perform(arbiter.stop(graceful: true, now: now))
        case SIGQUIT:
            logger.notice("immediate stop requested", metadata: ["signal.name": "QUIT"])
            notifyStopping("Stopping now")
            perform(arbiter.stop(graceful: false, now: now))
        case SIGHUP:
            reload(now: now)
        case SIGTTIN:
            perform(arbiter.incrementWorkers(now: now))
            logger.notice("worker count increased", metadata: ["workers.configured": "\(arbiter.configuredWorkers)"])
        case SIGTTOU:
            perform(arbiter.decrementWorkers(now: now))
            logger.notice("worker count decreased", metadata: ["workers.configured": "\(arbiter.configuredWorkers)"])
        case SIGUSR1:
            LogOutput.shared.reopen()
            for pid in arbiter.livePIDs { kill(pid, SIGUSR1) }
            logger.info("log file reopened", metadata: ["workers.signalled": "\(arbiter.livePIDs.count)"])
        default:
            break  // SIGCHLD: only wakes the loop; reaping happens every turn
        }
    }

    private func reapWorkers() {
        var exits: [Arbiter.WorkerExit] = []
        while true {
            var status: Int32 = 0
            let pid = waitpid(-1, &status, WNOHANG)
            if pid < 0, errno == EINTR { continue }
            guard pid > 0 else { break }
            // WIFEXITED / WEXITSTATUS / WTERMSIG are C macros the importer does not bring over.
            let exit: Arbiter.ExitStatus = status & 0x7f == 0 ? .exited((status >> 8) & 0xff) : .signaled(status & 0x7f)
            exits.append(Arbiter.WorkerExit(pid: pid, status: exit))
        }
        guard !exits.isEmpty else { return }
        let now = MonotonicClock.now()
        for exit in exits {
            guard let worker = arbiter.worker(pid: exit.pid) else { continue }
            var metadata = workerMetadata(worker)
            metadata["worker.exit"] = "\(exit.status)"
            switch worker.state {
            case .draining, .killed(replace: false):
                logger.info("worker exited", metadata: metadata)
            case .spawning, .starting, .ready, .killed(replace: true):
                logger.warning("worker exited unexpectedly", metadata: metadata)
            }
            if channelClosedAwaitingReap.remove(exit.pid) != nil {
                metrics.retire(pid: exit.pid)
            } else {
                reapedAwaitingChannel.insert(exit.pid)
            }
        }
        perform(arbiter.reapWorkers(exits, now: now))
        pruneEnvironments()
    }

    // MARK: - Reload

    private func reload(now: Double) {
        guard !arbiter.isStopping else { return }
        logger.notice("reloading configuration")
        notifier?.reloading(status: "Reloading configuration")
        let loaded: (config: GatewayConfig, source: ConfigSource)
        do {
            loaded = try ConfigLoader.load(environment: context.processEnvironment, arguments: context.flags)
        } catch {
            recordReload(.failure, error: error.description)
            logger.error("reload failed: invalid configuration, keeping the current one",
                         metadata: ["error": "\(error.description)"])
            notifier?.ready(status: "Reload failed: \(error.description)")
            return
        }
        let config = loaded.config
        if config.host != context.configuredHost || config.port != context.configuredPort {
            logger.warning("HOST/PORT changed: a restart is needed to move the listener; keeping the current address",
                           metadata: ["listen.host": "\(listeners.host)", "listen.port": "\(listeners.port)"])
        }
        if config.adminHost != context.configuredAdminHost || config.adminPort != context.configuredAdminPort {
            logger.warning("ADMIN_HOST/ADMIN_PORT changed: a restart is needed to move the admin listener")
        }
        logger.logLevel = Logger.Level(rawValue: config.logLevel) ?? logger.logLevel
        let actions = arbiter.reload(settings: Self.settings(from: config), now: now)
        let generation = arbiter.pending?.generation ?? arbiter.generation
        environments[generation] = workerEnvironment(loaded.source)
        logger.notice("starting a new generation", metadata: [
            "worker.generation": "\(generation)", "workers.configured": "\(config.workers)",
        ])
        perform(actions)
    }

    private func recordReload(_ result: ReloadRecord.Result, error: String?) {
        lastReload = ReloadRecord(result: result, at: RFC3339.format(WallClock.now(), rounding: .down), error: error)
        switch result {
        case .success: reloadsSucceeded += 1
        case .failure: reloadsFailed += 1
        case .none: break
        }
    }

    private func workerEnvironment(_ source: ConfigSource) -> [String] {
        WorkerEnvironment(host: listeners.host, port: listeners.port, adminPort: context.adminPort)
            .build(processEnvironment: context.processEnvironment, configuration: source)
    }

    private func pruneEnvironments() {
        let inUse = Set(arbiter.workers.values.map(\.generation))
            .union([arbiter.generation, arbiter.pending?.generation].compactMap { $0 })
        for generation in environments.keys where !inUse.contains(generation) { environments[generation] = nil }
    }

    // MARK: - Actions

    private func perform(_ actions: [Arbiter.Action]) {
        var queue = actions[...]
        while let action = queue.popFirst() {
            queue.append(contentsOf: perform(action))
        }
    }

    /// Performs one action; returns the arbiter's follow-up actions.
    private func perform(_ action: Arbiter.Action) -> [Arbiter.Action] {
        switch action {
        case .spawnWorker(let id, let slot, let generation):
            return spawn(id, slot: slot, generation: generation)
        case .drainWorker(let pid):
            if !channels.send(.drain, to: pid) {
                // No channel to speak through: SIGTERM asks for the same graceful exit.
                kill(pid, SIGTERM)
            }
            if let worker = arbiter.worker(pid: pid) {
                logger.info("draining worker", metadata: workerMetadata(worker))
            }
        case .killWorker(let pid):
            kill(pid, SIGKILL)
            if let worker = arbiter.worker(pid: pid) {
                var metadata = workerMetadata(worker)
                if case .killed(replace: true) = worker.state {
                    metadata["worker.timeout_seconds"] = "\(arbiter.settings.heartbeatTimeout)"
                    logger.error("worker unresponsive, killing it", metadata: metadata)
                } else {
                    logger.warning("worker did not stop in time, killing it", metadata: metadata)
                }
            }
        case .closeSlot(let slot):
            listeners.close(slot: slot)
            logger.info("slot closed", metadata: ["worker.slot": "\(slot)"])
        case .announceReady:
            // Published first: whoever acts on the announcement (a test, systemd, a readiness probe) may ask
            // /health at once, and it answers from the published status, which the loop otherwise refreshes only
            // at the end of its pass.
            publish()
            let line = "READY port=\(listeners.port) admin_port=\(context.adminPort) pid=\(getpid())\n"
            StandardOutput.write(line)
            notifier?.ready(status: "Serving on port \(listeners.port) with \(arbiter.configuredWorkers) workers")
            logger.notice("gateway ready", metadata: [
                "listen.host": "\(listeners.host)", "listen.port": "\(listeners.port)",
                "admin.port": "\(context.adminPort)", "workers.configured": "\(arbiter.configuredWorkers)",
            ])
        case .reloadCompleted(let generation):
            recordReload(.success, error: nil)
            pruneEnvironments()
            publish()
            notifier?.ready(status: "Serving generation \(generation) with \(arbiter.configuredWorkers) workers")
            logger.notice("reload complete", metadata: ["worker.generation": "\(generation)"])
        case .reloadAborted(let generation, let status):
            let message = "workers of generation \(generation) failed to boot (\(status))"
            recordReload(.failure, error: message)
            notifier?.ready(status: "Reload failed: \(message)")
            logger.error("reload aborted, keeping the current generation", metadata: [
                "worker.generation": "\(generation)", "error": "\(message)",
            ])
        case .exit(let code):
            if code == Arbiter.bootFailureExitCode {
                logger.critical("a worker failed to boot; stopped everything instead of respawning it",
                                metadata: ["exit.code": "\(code)"])
            }
            notifyStopping("Exiting with code \(code)")
            logger.notice("master exiting", metadata: ["exit.code": "\(code)"])
            exitCode = code
        }
        return []
    }

    private func spawn(_ id: Arbiter.WorkerID, slot: Int, generation: Int) -> [Arbiter.Action] {
        var metadata: Logger.Metadata = ["worker.slot": "\(slot)", "worker.generation": "\(generation)"]
        guard let environment = environments[generation] else {
            preconditionFailure("no environment for generation \(generation)")
        }
        var pair: [Int32] = [-1, -1]
        do {
            let listener = try listeners.descriptor(for: slot)
            guard socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &pair) == 0 else {
                throw SpawnError(code: errno)
            }
            pair[1] = SlotListeners.moveAbove(pair[1])
            let pid = try spawner.spawn(slot: slot, generation: generation, listener: listener, control: pair[1],
                                        environment: environment)
            close(pair[1])
            metrics.workerStarted(pid: pid)
            metadata["worker.pid"] = "\(pid)"
            do {
                try channels.attach(pid: pid, descriptor: pair[0])
            } catch {
                // The worker sees EOF on fd 4 and drains; it is replaced once reaped.
                logger.error("cannot attach the control channel", metadata: metadata.merging(
                    ["error": "\(error)"], uniquingKeysWith: { $1 }))
                channelClosedAwaitingReap.insert(pid)
            }
            logger.info("spawned worker", metadata: metadata)
            return arbiter.workerSpawned(id, pid: pid, now: MonotonicClock.now())
        } catch {
            for fd in pair where fd >= 0 { close(fd) }
            metadata["error"] = "\(error)"
            logger.error("cannot spawn worker", metadata: metadata)
            return arbiter.spawnFailed(id, now: MonotonicClock.now())
        }
    }

    // MARK: - Publishing

    private func notifyStopping(_ status: String) {
        guard !stoppingNotified else { return }
        stoppingNotified = true
        notifier?.stopping(status: status)
    }

    private func sendWatchdog() {
        guard let interval = notifier?.watchdogInterval, let due = nextWatchdog else { return }
        let now = MonotonicClock.now()
        guard now >= due else { return }
        notifier?.watchdog()
        nextWatchdog = now + interval
    }

    private func publish() {
        let census = arbiter.census
        var status = NodeStatus()
        switch arbiter.phase {
        case .booting: status.phase = .booting
        case .running: status.phase = .running
        case .stopping, .exited: status.phase = .stopping
        }
        status.generation = census.generation
        status.configuredWorkers = census.configured
        status.aliveWorkers = census.alive
        status.startingWorkers = census.starting
        status.readyWorkers = census.ready
        status.drainingWorkers = census.draining + census.killed
        status.workerRestarts = arbiter.restarts
        status.reloadsSucceeded = reloadsSucceeded
        status.reloadsFailed = reloadsFailed
        status.lastReload = lastReload
        metrics.publish(status)
    }

    private func workerMetadata(_ worker: Arbiter.Worker) -> Logger.Metadata {
        var metadata: Logger.Metadata = ["worker.slot": "\(worker.slot)", "worker.generation": "\(worker.generation)"]
        if let pid = worker.pid { metadata["worker.pid"] = "\(pid)" }
        return metadata
    }

    static func name(of signal: Int32) -> String {
        switch signal {
        case SIGTERM: return "TERM"
        case SIGINT: return "INT"
        case SIGQUIT: return "QUIT"
        case SIGHUP: return "HUP"
        default: return String(signal)
        }
    }
}
