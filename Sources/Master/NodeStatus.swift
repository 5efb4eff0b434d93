/// The supervisor's view of the node, published by the master loop after every turn for the admin endpoints
/// (which run on other threads and never touch the worker table).
struct NodeStatus: Sendable, Equatable {
    enum Phase: String, Sendable {
        case booting, running, stopping
    }

    var phase: Phase = .booting
    var generation = 1
    var configuredWorkers = 0
    /// Processes not yet reaped, in any state.
    var aliveWorkers = 0
    var startingWorkers = 0
    var readyWorkers = 0
    /// Draining or being killed.
    var drainingWorkers = 0
    var workerRestarts = 0
    var reloadsSucceeded = 0
    var reloadsFailed = 0
    var lastReload = ReloadRecord.none
}

/// The outcome of the last SIGHUP.
struct ReloadRecord: Sendable, Equatable {
    enum Result: String, Sendable {
        case none, success, failure
    }

    var result: Result
    /// ISO 8601, UTC.
    var at: String?
    var error: String?

    static let none = ReloadRecord(result: .none, at: nil, error: nil)
}
