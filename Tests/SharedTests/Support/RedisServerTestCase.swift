import Shared
import XCTest

/// Base class for tests that need a real `redis-server`: servers and clients they create are
/// stopped in teardown, so no process or thread outlives its test.
class RedisServerTestCase: XCTestCase {
    /// Starts a server on a free loopback port (and a Unix socket with `unixSocket`); it is killed by PID when the
    /// test ends.
    func startServer(extraArguments: [String] = [], unixSocket: Bool = false) throws -> RedisServerProcess {
        let server = try RedisServerProcess(extraArguments: extraArguments, unixSocket: unixSocket)
        try server.start()
        self.addTeardownBlock {
            server.stop()
            server.removeFiles()
        }
        return server
    }

    /// Creates a client that is shut down when the test ends.
    func makeClient(
        _ url: RedisURL,
        timeoutMilliseconds: Int = 2_000,
        maxQueuedCommands: Int = 10_000
    ) -> RedisClient {
        let client = RedisClient.forTesting(
            url,
            timeoutMilliseconds: timeoutMilliseconds,
            maxQueuedCommands: maxQueuedCommands
        )
        self.addTeardownBlock { client.shutdown() }
        return client
    }

    /// Creates a client and waits for its first connection.
    func connectedClient(_ server: RedisServerProcess, database: Int = 0) throws -> RedisClient {
        let client = self.makeClient(server.url(database: database))
        XCTAssertTrue(client.waitUntilReady(), "client did not connect to redis on port \(server.port)")
        return client
    }
}
