import NIOConcurrencyHelpers

/// What a client's connections share across event loops: the registered scripts, each connection's phase (for
/// `/health`) and the error counters. Touched on connects, failures and script registration, never per command.
final class RedisClientState: Sendable {
    private struct Values {
        var scripts: [String: RedisScript] = [:]
        var phases: [RedisConnectionState]
        /// Per connection: commands handed over from other threads that its loop has not picked up yet.
        var handedOver: [Int]
        var failedCommands = 0
        var connectionFailures = 0
        var isShutDown = false
    }

    private let values: NIOLockedValueBox<Values>

    init(connections: Int) {
        values = NIOLockedValueBox(Values(phases: Array(repeating: .connecting, count: connections),
                                          handedOver: Array(repeating: 0, count: connections)))
    }

    /// The worst phase of any connection: a request on a loop whose connection is down fails fast, so one down
    /// connection makes the client down.
    var state: RedisConnectionState {
        values.withLockedValue { values in
            if values.isShutDown || values.phases.contains(.down) { return .down }
            return values.phases.contains(.connecting) ? .connecting : .connected
        }
    }

    var failedCommands: Int { values.withLockedValue { $0.failedCommands } }
    var connectionFailures: Int { values.withLockedValue { $0.connectionFailures } }
    var isShutDown: Bool { values.withLockedValue { $0.isShutDown } }
    var scripts: [RedisScript] { values.withLockedValue { Array($0.scripts.values) } }

    /// Adds `script` to those loaded on every connect; returns whether it was new.
    func register(_ script: RedisScript) -> Bool {
        values.withLockedValue { $0.scripts.updateValue(script, forKey: script.sha1) == nil }
    }

    /// Accepts commands from a thread other than the connection's loop, or says why not — at once, on the
    /// caller's thread: while the connection is down, or when `capacity` commands already wait for its loop.
    func handOver(commands: Int, to connection: Int, capacity: Int) -> RedisError? {
        values.withLockedValue { values in
            let error: RedisError?
            if values.isShutDown {
                error = .unavailable("client shut down")
            } else if values.phases[connection] == .down {
                error = .unavailable("not connected")
            } else if values.handedOver[connection] + commands > capacity {
                error = .overloaded
            } else {
                values.handedOver[connection] += commands
                return nil
            }
            values.failedCommands += commands
            return error
        }
    }

    /// The connection's loop has taken over commands handed to it.
    func pickedUp(commands: Int, by connection: Int) {
        values.withLockedValue { $0.handedOver[connection] -= commands }
    }

    func set(phase: RedisConnectionState, of connection: Int) {
        values.withLockedValue { $0.phases[connection] = phase }
    }

    func countFailed(commands: Int) {
        guard commands > 0 else { return }
        values.withLockedValue { $0.failedCommands += commands }
    }

    func countConnectionFailure() {
        values.withLockedValue { $0.connectionFailures += 1 }
    }

    /// Marks the client shut down; returns false if it already was.
    func markShutDown() -> Bool {
        values.withLockedValue { values in
            defer { values.isShutDown = true }
            return !values.isShutDown
        }
    }
}
