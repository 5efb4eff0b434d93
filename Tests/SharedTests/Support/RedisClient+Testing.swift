import Logging
import Shared

extension RedisClient {
    /// A client with timeouts generous enough for a busy shared test machine.
    static func forTesting(
        _ url: RedisURL,
        timeoutMilliseconds: Int = 2_000,
        maxQueuedCommands: Int = 10_000
    )
        -> RedisClient
    {
        var logger = Logger(label: "test.redis")
        logger.logLevel = .critical
        return RedisClient(
            configuration: .init(
                url: url,
                timeoutMilliseconds: timeoutMilliseconds,
                maxQueuedCommands: maxQueuedCommands
            ),
            logger: logger
        )
    }

    /// Sends one command and waits for its result.
    func sendAndWait(_ args: [String]) -> Result<RedisReply, RedisError>? {
        WaitForCallback.result { self.send(args, completion: $0) }
    }

    /// Sends one binary command and waits for its result.
    func sendAndWait(_ args: [[UInt8]]) -> Result<RedisReply, RedisError>? {
        WaitForCallback.result { self.send(args, completion: $0) }
    }

    /// Waits until a `PING` succeeds (the first connection is made in the background).
    func waitUntilReady(timeout: Double = 10) -> Bool {
        WaitForCallback.until(timeout: timeout) {
            if case .success(.status("PONG")) = self.sendAndWait(["PING"]) { return true }
            return false
        }
    }
}
