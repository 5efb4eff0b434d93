import Logging
import NIOCore
import NIOPosix

/// A Redis client with one pipelined connection per event loop, driven by that loop.
///
/// Callers on one of the client's loops reach their loop's connection directly: the command is written and its
/// reply read by the same thread, and the completion runs there. Callers on any other thread are handed to the
/// first loop, whose thread then calls the completion; a command that cannot be sent (Redis down, queue full, shut
/// down) is failed at once, on the caller's thread. While Redis is unreachable new commands fail immediately with
/// `.unavailable` and each connection reconnects in the background with back-off, so an outage never stalls a
/// request for longer than the configured timeout.
///
/// Call `shutdown()` when done; releasing the last reference also shuts the client down.
public final class RedisClient: Sendable {
    private let connections: [RedisLoopConnection]
    private let shared: RedisClientState
    /// The loop group the client made for itself when given none; shut down with the client.
    private let ownGroup: MultiThreadedEventLoopGroup?

    /// The configuration the client was created with.
    public let configuration: Configuration

    /// Connects in the background, one connection on each of `eventLoops`; with none, the client runs one loop
    /// thread of its own.
    public init(configuration: Configuration, logger: Logger, eventLoops: [EventLoop] = []) {
        var logger = logger
        switch configuration.url.endpoint {
        case .tcp(let host, let port):
            logger[metadataKey: "redis.host"] = "\(host)"
            logger[metadataKey: "redis.port"] = "\(port)"
        case .unixSocket(let path):
            logger[metadataKey: "redis.socket"] = "\(path)"
        }
        var loops = eventLoops
        if loops.isEmpty {
            let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
            ownGroup = group
            loops = [group.next()]
        } else {
            ownGroup = nil
        }
        let state = RedisClientState(connections: loops.count)
        self.shared = state
        self.configuration = configuration
        connections = loops.enumerated().map { index, loop in
            RedisLoopConnection(loop: loop, index: index, configuration: configuration, shared: state, logger: logger)
        }
        for connection in connections {
            connection.loop.execute { connection.start() }
        }
    }

    deinit {
        self.shutdown()
    }

    /// The loops the client's connections run on, one connection each.
    var eventLoops: [EventLoop] { connections.map(\.loop) }

    /// Whether every connection is established right now.
    public var isConnected: Bool { shared.state == .connected }

    /// `connected`, `connecting` (first attempt) or `down` (any connection), for `/health`.
    public var state: RedisConnectionState { shared.state }

    /// Total commands that completed with a `RedisError` (rejected, timed out, connection lost).
    public var errors: Int { shared.failedCommands }

    /// Failed connection attempts plus established connections that broke.
    public var connectionFailures: Int { shared.connectionFailures }

    /// Sends one command; `args` is the command name followed by its arguments, binary-safe.
    ///
    /// An error reply arrives as `.success(.error(…))`: only transport problems are failures.
    ///
    /// `canWait`: no request waits for the reply (a cache store, a correction), so the command leaves with the next
    /// write of its connection, or within `Configuration.convenientFlushDelayMilliseconds` (1 ms) when no other
    /// command follows. A busy gateway so sends it without a write, and a wake-up of redis-server, of its own.
    public func send(_ args: [[UInt8]], canWait: Bool = false,
                     completion: @escaping @Sendable (Result<RedisReply, RedisError>) -> Void) {
        guard !args.isEmpty else {
            completion(.failure(.invalidCommand("empty command")))
            return
        }
        send(RedisCommandBatch([args]), canWait: canWait, completion: completion)
    }

    /// `send`, the command given as `RESPArgument`s: encoded straight from its parts, without a byte array made for
    /// each argument first (the cache's `SET` of every cacheable answer).
    public func send(_ command: [RESPArgument], canWait: Bool = false,
                     completion: @escaping @Sendable (Result<RedisReply, RedisError>) -> Void) {
        guard !command.isEmpty else {
            completion(.failure(.invalidCommand("empty command")))
            return
        }
        var batch = RedisCommandBatch(capacity: RESPEncoder.size(of: command))
        batch.append(command)
        send(batch, canWait: canWait, completion: completion)
    }

    /// Sends a batch of one command and delivers its reply.
    private func send(_ batch: RedisCommandBatch, canWait: Bool,
                      completion: @escaping @Sendable (Result<RedisReply, RedisError>) -> Void) {
        enqueue(
            RedisPendingCommand(batch, canWait: canWait) { result in
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
        enqueue(RedisPendingCommand(commands: commands, completion: completion))
    }

    /// Sends commands already encoded (`RedisCommandBatch`) and delivers their replies together, in order.
    public func pipeline(
        _ batch: RedisCommandBatch,
        completion: @escaping @Sendable (Result<[RedisReply], RedisError>) -> Void
    ) {
        guard batch.count > 0 else {
            completion(.success([]))
            return
        }
        enqueue(RedisPendingCommand(batch, completion: completion))
    }

    /// Stops every connection, fails queued and in-flight commands; idempotent.
    ///
    /// Waits for the connections to stop unless called on one of the client's own loops (from a completion).
    public func shutdown() {
        guard shared.markShutDown() else { return }
        for connection in connections {
            if connection.loop.inEventLoop {
                connection.shutDown()
            } else {
                try? connection.loop.submit { connection.shutDown() }.wait()
            }
        }
        guard let ownGroup else { return }
        if connections.contains(where: { $0.loop.inEventLoop }) {
            ownGroup.shutdownGracefully { _ in }
        } else {
            try? ownGroup.syncShutdownGracefully()
        }
    }

    // MARK: - Internal

    /// Hands `item` to the connection of the caller's loop, or to the first connection.
    func enqueue(_ item: RedisPendingCommand) {
        guard !shared.isShutDown else {
            shared.countFailed(commands: item.commandCount)
            item.fail(.unavailable("client shut down"))
            return
        }
        for connection in connections where connection.loop.inEventLoop {
            connection.enqueue(item)
            return
        }
        let connection = connections[0]
        if let error = shared.handOver(commands: item.commandCount, to: 0,
                                       capacity: configuration.maxQueuedCommands) {
            item.fail(error)
            return
        }
        connection.loop.execute { [shared] in
            shared.pickedUp(commands: item.commandCount, by: 0)
            connection.enqueue(item)
        }
    }

    /// Adds `script` to those loaded on every connect; returns whether it was new.
    func registerScript(_ script: RedisScript) -> Bool {
        shared.register(script)
    }

    /// Sends `command` on every connection, best effort (loading a new script everywhere).
    func broadcast(_ command: [[UInt8]]) {
        guard !shared.isShutDown else { return }
        for connection in connections {
            let item = RedisPendingCommand(commands: [command]) { _ in }
            if connection.loop.inEventLoop {
                connection.enqueue(item)
            } else {
                connection.loop.execute { connection.enqueue(item) }
            }
        }
    }
}
