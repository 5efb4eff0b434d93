import NIOConcurrencyHelpers

/// Per-key attempt counts for the `flaky` scenario (key = `x-fake-key`, or "" when absent).
final class FlakyCounter: Sendable {
    /// A lock ThreadSanitizer sees (`scripts/sanitizers.sh thread` runs this fake): it does not see the standard
    /// library's `Mutex` on Linux, and reported every pair of accesses under one as a race.
    private let attempts = NIOLockedValueBox([String: Int]())

    /// Records one attempt for `key` and returns its 1-based number.
    func nextAttempt(key: String) -> Int {
        attempts.withLockedValue { table in
            let n = (table[key] ?? 0) + 1
            table[key] = n
            return n
        }
    }

    func reset() {
        attempts.withLockedValue { $0.removeAll() }
    }
}
