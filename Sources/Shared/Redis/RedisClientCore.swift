import Logging
import NIOConcurrencyHelpers

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The state shared between callers and the client thread, and the loop that thread runs.
///
/// `@unchecked Sendable`: `queue`, `scripts` and `clientThread` are only read or written while holding `condition`
/// (a mutex plus a condition variable whose value mirrors `queue.hasWork`); the hiredis connection
/// lives in a local variable of `run()` and so never leaves the client thread.
final class RedisClientCore: @unchecked Sendable {
    let configuration: RedisClient.Configuration
    private let logger: Logger
    private let condition = ConditionLock<Bool>(value: false)
    private var queue: RedisCommandQueue
    private var scripts: [String: RedisScript] = [:]
    private let exited = ConditionLock<Bool>(value: false)
    private var clientThread: pthread_t?

    init(configuration: RedisClient.Configuration, logger: Logger) {
        self.configuration = configuration
        self.queue = RedisCommandQueue(capacity: configuration.maxQueuedCommands)
        var logger = logger
        logger[metadataKey: "redis.host"] = "\(configuration.url.host)"
        logger[metadataKey: "redis.port"] = "\(configuration.url.port)"
        self.logger = logger
    }

    // MARK: - Caller side

    func enqueue(_ item: RedisPendingCommand) {
        self.condition.lock()
        let action = self.queue.enqueue(item)
        self.condition.unlock(withValue: self.queue.hasWork)
        if case .reject(let error) = action {
            item.fail(error)
        }
    }

    /// Adds `script` to those loaded on every connect; returns whether it was new.
    func register(_ script: RedisScript) -> Bool {
        self.withLockedQueue { _ in self.scripts.updateValue(script, forKey: script.sha1) == nil }
    }

    var state: RedisConnectionState { self.withLockedQueue { $0.state } }
    var failedCommands: Int { self.withLockedQueue { $0.failedCommands } }
    var connectionFailures: Int { self.withLockedQueue { $0.connectionFailures } }

    /// Stops accepting commands and fails the queued ones; the thread exits after its current round.
    func shutdown() {
        self.condition.lock()
        let rejected = self.queue.shutdown()
        self.condition.unlock(withValue: self.queue.hasWork)
        for item in rejected {
            item.fail(.unavailable("client shut down"))
        }
    }

    /// Waits for the client thread to finish, unless called from it (a completion calling `shutdown()`).
    func waitUntilExited() {
        let onClientThread = self.withLockedQueue { _ in
            self.clientThread.map { pthread_equal($0, pthread_self()) != 0 } ?? false
        }
        guard !onClientThread else { return }
        self.exited.lock(whenValue: true)
        self.exited.unlock()
    }

    // MARK: - Client thread

    /// The client thread's body: connect, drain the queue in pipelined rounds, reconnect on failure.
    func run() {
        self.withLockedQueue { _ in self.clientThread = pthread_self() }
        Self.blockSIGPIPE()
        var backoff = RedisBackoff(
            initialMilliseconds: self.configuration.reconnectInitialDelayMilliseconds,
            maximumMilliseconds: self.configuration.reconnectMaxDelayMilliseconds
        )
        var connection: RedisConnection?
        var reportedOutage = false

        while !self.isShutDown {
            guard let current = connection else {
                switch RedisConnection.connect(
                    to: self.configuration.url,
                    timeoutMilliseconds: self.configuration.timeoutMilliseconds,
                    scripts: self.withLockedQueue { _ in Array(self.scripts.values) }
                ) {
                case .success(let established):
                    connection = established
                    backoff.reset()
                    reportedOutage = false
                    self.withLockedQueue { $0.connected() }
                    self.logger.info("connected to redis")
                case .failure(let error):
                    self.connectionBroke(reason: "\(error)", failedInFlight: 0, logAsWarning: !reportedOutage)
                    reportedOutage = true
                    let delay = backoff.nextDelayMilliseconds()
                    self.logger.debug("redis reconnect scheduled", metadata: ["redis.backoff_ms": "\(delay)"])
                    self.waitForShutdown(milliseconds: delay)
                }
                continue
            }

            switch self.waitForBatch() {
            case .shutdown:
                break
            case .idle:
                if case .failure(let error) = current.roundTrip([[Array("PING".utf8)]]) {
                    connection = nil
                    self.connectionBroke(reason: "health check: \(error)", failedInFlight: 0, logAsWarning: true)
                    reportedOutage = true
                }
            case .batch(let batch):
                if let broken = current.execute(batch) {
                    connection = nil
                    self.connectionBroke(
                        reason: broken.reason,
                        failedInFlight: broken.failedCommands,
                        logAsWarning: true
                    )
                    reportedOutage = true
                }
            }
        }

        // Free the hiredis context on this thread, the only one that ever used it.
        connection = nil
        self.exited.lock()
        self.exited.unlock(withValue: true)
    }

    private enum Work {
        case batch([RedisPendingCommand])
        case idle
        case shutdown
    }

    private var isShutDown: Bool { self.withLockedQueue { $0.phase == .shutdown } }

    private func waitForBatch() -> Work {
        let interval = Double(self.configuration.healthCheckIntervalMilliseconds) / 1000
        guard self.condition.lock(whenValue: true, timeoutSeconds: interval) else {
            return .idle
        }
        let work: Work = self.queue.phase == .shutdown ? .shutdown : .batch(self.queue.takeBatch())
        self.condition.unlock(withValue: self.queue.hasWork)
        return work
    }

    /// Sleeps for a back-off delay, returning early on shutdown (the only work while disconnected).
    private func waitForShutdown(milliseconds: Int) {
        if self.condition.lock(whenValue: true, timeoutSeconds: Double(milliseconds) / 1000) {
            self.condition.unlock(withValue: self.queue.hasWork)
        }
    }

    private func connectionBroke(reason: String, failedInFlight: Int, logAsWarning: Bool) {
        self.condition.lock()
        let stranded = self.queue.connectionFailed(failedInFlight: failedInFlight)
        self.condition.unlock(withValue: self.queue.hasWork)
        for item in stranded {
            item.fail(.unavailable(reason))
        }
        let metadata: Logger.Metadata = [
            "redis.error": "\(reason)",
            "redis.failed_commands": "\(failedInFlight + stranded.reduce(0) { $0 + $1.commandCount })",
        ]
        if logAsWarning {
            self.logger.warning("redis unavailable; failing commands fast and reconnecting", metadata: metadata)
        } else {
            self.logger.debug("redis reconnect failed", metadata: metadata)
        }
    }

    private func withLockedQueue<T>(_ body: (inout RedisCommandQueue) -> T) -> T {
        self.condition.lock()
        let result = body(&self.queue)
        self.condition.unlock(withValue: self.queue.hasWork)
        return result
    }

    /// hiredis writes with plain `write(2)`: a peer that closed would raise SIGPIPE and kill the
    /// process. Blocking it on this thread only turns that into an EPIPE error without changing
    /// the process-wide disposition.
    private static func blockSIGPIPE() {
        var set = sigset_t()
        sigemptyset(&set)
        sigaddset(&set, SIGPIPE)
        pthread_sigmask(SIG_BLOCK, &set, nil)
    }
}
