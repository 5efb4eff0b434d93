import Synchronization

/// Per-key attempt counts for the `flaky` scenario (key = `x-fake-key`, or "" when absent).
final class FlakyCounter: Sendable {
    private let attempts = Mutex([String: Int]())

    /// Records one attempt for `key` and returns its 1-based number.
    func nextAttempt(key: String) -> Int {
        attempts.withLock { table in
            let n = (table[key] ?? 0) + 1
            table[key] = n
            return n
        }
    }

    func reset() {
        attempts.withLock { $0.removeAll() }
    }
}
