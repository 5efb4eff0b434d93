/// The client's shared state: connection phase, queued commands and error counters.
///
/// A value type driven by the client (callers enqueue, the client thread takes batches and reports
/// connection events); each mutation returns what must be failed or run, so the lock holder never calls
/// completions while holding the lock.
struct RedisCommandQueue {
    enum Phase: Equatable {
        /// First connection attempt: commands queue (bounded by the connect timeout).
        case connecting
        case connected
        /// Lost or never established after the first attempt: commands are rejected at once.
        case down
        case shutdown
    }

    enum EnqueueAction {
        case queued
        case reject(RedisError)
    }

    private(set) var phase: Phase = .connecting
    private var pending: [RedisPendingCommand] = []
    private var queuedCommands = 0
    private let capacity: Int

    /// Commands that completed with a `RedisError` (rejected, timed out, connection lost).
    private(set) var failedCommands = 0
    /// Failed connection attempts plus established connections that broke.
    private(set) var connectionFailures = 0

    init(capacity: Int) {
        self.capacity = capacity
    }

    /// Whether the client thread has something to do; mirrored in the condition lock's value.
    var hasWork: Bool { !self.pending.isEmpty || self.phase == .shutdown }

    var state: RedisConnectionState {
        switch self.phase {
        case .connected: return .connected
        case .connecting: return .connecting
        case .down, .shutdown: return .down
        }
    }

    mutating func enqueue(_ item: RedisPendingCommand) -> EnqueueAction {
        switch self.phase {
        case .down:
            // Failing now instead of queueing is what keeps a Redis outage from stalling requests.
            self.failedCommands += item.commandCount
            return .reject(.unavailable("not connected"))
        case .shutdown:
            self.failedCommands += item.commandCount
            return .reject(.unavailable("client shut down"))
        case .connecting, .connected:
            guard self.queuedCommands + item.commandCount <= self.capacity else {
                self.failedCommands += item.commandCount
                return .reject(.overloaded)
            }
            self.pending.append(item)
            self.queuedCommands += item.commandCount
            return .queued
        }
    }

    /// Hands every queued command to the client thread.
    mutating func takeBatch() -> [RedisPendingCommand] {
        let batch = self.pending
        self.pending = []
        self.queuedCommands = 0
        return batch
    }

    mutating func connected() {
        guard self.phase != .shutdown else { return }
        self.phase = .connected
    }

    /// Records a failed attempt or a broken connection; returns the queued commands to fail.
    mutating func connectionFailed(failedInFlight: Int) -> [RedisPendingCommand] {
        self.connectionFailures += 1
        self.failedCommands += failedInFlight
        if self.phase != .shutdown {
            self.phase = .down
        }
        let batch = self.takeBatch()
        self.failedCommands += batch.reduce(0) { $0 + $1.commandCount }
        return batch
    }

    /// Stops accepting commands; returns the queued ones to fail.
    mutating func shutdown() -> [RedisPendingCommand] {
        self.phase = .shutdown
        let batch = self.takeBatch()
        self.failedCommands += batch.reduce(0) { $0 + $1.commandCount }
        return batch
    }
}
