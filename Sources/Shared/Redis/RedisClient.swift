import Logging

/// A Redis client that owns one thread running a blocking hiredis connection with pipelining.
///
/// Callers on any thread enqueue commands and never block; the client thread writes everything
/// queued, reads the replies and calls the completions on itself (or on the caller's thread when a
/// command is rejected at once: queue full, Redis down, shut down). While Redis is unreachable new
/// commands fail immediately with `.unavailable` and the thread reconnects in the background with
/// back-off, so an outage never stalls a request for longer than the configured timeout.
///
/// Call `shutdown()` when done; releasing the last reference also shuts the client down.
public final class RedisClient: Sendable {
    private let core: RedisClientCore

    /// Starts the client thread, which connects in the background.
    public init(configuration: Configuration, logger: Logger) {
        let core = RedisClientCore(configuration: configuration, logger: logger)
        self.core = core
        // The thread holds only the core, so dropping the client runs `deinit` and stops the thread.
        DetachedThread.start(name: "redis-client") { core.run() }
    }

    deinit {
        self.shutdown()
    }

    /// The configuration the client was created with.
    public var configuration: Configuration { self.core.configuration }

    /// Whether a connection is established right now.
    public var isConnected: Bool { self.core.state == .connected }

    /// `connected`, `connecting` (first attempt) or `down`, for `/health`.
    public var state: RedisConnectionState { self.core.state }

    /// Total commands that completed with a `RedisError` (rejected, timed out, connection lost).
    public var errors: Int { self.core.failedCommands }

    /// Failed connection attempts plus established connections that broke.
    public var connectionFailures: Int { self.core.connectionFailures }

    /// Sends one command; `args` is the command name followed by its arguments, binary-safe.
    ///
    /// An error reply arrives as `.success(.error(…))`: only transport problems are failures.
    public func send(_ args: [[UInt8]], completion: @escaping @Sendable (Result<RedisReply, RedisError>) -> Void) {
        guard !args.isEmpty else {
            completion(.failure(.invalidCommand("empty command")))
            return
        }
        self.core.enqueue(
            RedisPendingCommand(commands: [args]) { result in
                completion(
                    result.flatMap { replies in
                        replies.first.map { .success($0) } ?? .failure(.unexpectedReply("no reply"))
                    }
                )
            }
        )
    }

    /// Sends one command given as UTF-8 strings.
    public func send(_ args: [String], completion: @escaping @Sendable (Result<RedisReply, RedisError>) -> Void) {
        self.send(args.map { Array($0.utf8) }, completion: completion)
    }

    /// Sends several commands back to back and delivers their replies together, in order.
    public func pipeline(
        _ commands: [[[UInt8]]],
        completion: @escaping @Sendable (Result<[RedisReply], RedisError>) -> Void
    ) {
        guard !commands.isEmpty else {
            completion(.success([]))
            return
        }
        guard commands.allSatisfy({ !$0.isEmpty }) else {
            completion(.failure(.invalidCommand("empty command in pipeline")))
            return
        }
        self.core.enqueue(RedisPendingCommand(commands: commands, completion: completion))
    }

    /// Stops the client thread, fails queued commands and frees the connection; idempotent.
    ///
    /// Waits for the thread to exit unless called from a completion (that is, on the thread itself).
    public func shutdown() {
        self.core.shutdown()
        self.core.waitUntilExited()
    }

    // MARK: - Internal

    /// Lets the script helpers enqueue without retaining the client facade.
    var coreForScripts: RedisClientCore { self.core }
}
