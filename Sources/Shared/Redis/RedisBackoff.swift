/// Reconnect delays that double from `initial` up to `maximum` and start over after a success.
struct RedisBackoff {
    let initialMilliseconds: Int
    let maximumMilliseconds: Int
    private var current: Int?

    init(initialMilliseconds: Int, maximumMilliseconds: Int) {
        self.initialMilliseconds = max(1, initialMilliseconds)
        self.maximumMilliseconds = max(self.initialMilliseconds, maximumMilliseconds)
    }

    /// The delay before the next attempt.
    mutating func nextDelayMilliseconds() -> Int {
        let delay = self.current.map { min($0 * 2, self.maximumMilliseconds) } ?? self.initialMilliseconds
        self.current = delay
        return delay
    }

    mutating func reset() {
        self.current = nil
    }
}
