extension RedisClient {
    /// How a `RedisClient` connects, times out, queues and reconnects.
    public struct Configuration: Sendable {
        /// The server to connect to.
        public var url: RedisURL
        /// Connect and per-read/write timeout (`REDIS_TIMEOUT_MS`); a command exceeding it drops the connection.
        public var timeoutMilliseconds: Int
        /// Commands that may wait for a connection: in flight on it, or handed over to its loop by other threads
        /// (each bounded by this); beyond it `send` fails with `.overloaded`.
        public var maxQueuedCommands: Int
        /// First reconnect delay after a failed attempt; it doubles up to `reconnectMaxDelayMilliseconds`.
        public var reconnectInitialDelayMilliseconds: Int
        /// Upper bound of the reconnect delay.
        public var reconnectMaxDelayMilliseconds: Int
        /// An idle connection is checked with `PING` this often, so `/health` notices an outage without traffic.
        public var healthCheckIntervalMilliseconds: Int
        /// How long at most a command that can wait (`send(_:canWait:completion:)`) waits for another command to
        /// leave with; its timeout is counted on top.
        public var convenientFlushDelayMilliseconds: Int

        /// Creates a configuration with the defaults above.
        public init(
            url: RedisURL,
            timeoutMilliseconds: Int = 50,
            maxQueuedCommands: Int = 10_000,
            reconnectInitialDelayMilliseconds: Int = 50,
            reconnectMaxDelayMilliseconds: Int = 2_000,
            healthCheckIntervalMilliseconds: Int = 1_000,
            convenientFlushDelayMilliseconds: Int = 1
        ) {
            self.url = url
            self.timeoutMilliseconds = max(1, timeoutMilliseconds)
            self.maxQueuedCommands = max(1, maxQueuedCommands)
            self.reconnectInitialDelayMilliseconds = reconnectInitialDelayMilliseconds
            self.reconnectMaxDelayMilliseconds = reconnectMaxDelayMilliseconds
            self.healthCheckIntervalMilliseconds = max(10, healthCheckIntervalMilliseconds)
            self.convenientFlushDelayMilliseconds = max(0, convenientFlushDelayMilliseconds)
        }
    }
}
