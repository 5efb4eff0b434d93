import Logging
import NIOCore
import NIOPosix

/// One connection to Redis, owned by one event loop: that loop writes the commands and reads the replies, so a
/// request on the loop reaches Redis and gets its answer without any thread hop or extra wake-up.
///
/// `@unchecked Sendable`: after `init`, every member is touched on `loop` only (callers elsewhere hop there).
final class RedisLoopConnection: NIOScheduledCallbackHandler, @unchecked Sendable {
    private enum Phase {
        /// First connection attempt: commands wait (bounded by the queue capacity).
        case connecting
        case connected
        /// Lost, or not established after the first attempt: commands fail at once while reconnects run.
        case down
        case shutdown
    }

    private struct InFlight {
        let item: RedisPendingCommand
        let deadline: NIODeadline
    }

    let loop: EventLoop
    private let index: Int
    private let configuration: RedisClient.Configuration
    private let shared: RedisClientState
    private let logger: Logger
    private var timeout: TimeAmount { .milliseconds(Int64(configuration.timeoutMilliseconds)) }
    private var convenientFlushDelay: TimeAmount {
        .milliseconds(Int64(configuration.convenientFlushDelayMilliseconds))
    }

    private var phase = Phase.connecting
    /// Bumped whenever a channel is given up, so late events of an old channel are ignored.
    private var generation = 0
    private var channel: Channel?
    private var reader = RedisReplyReader()
    /// Commands sent before the first connection was ready (AUTH, SELECT and scripts are first on the wire).
    private var waiting: [RedisPendingCommand] = []
    private var waitingCommands = 0
    private var inFlight = CircularBuffer<InFlight>()
    private var inFlightCommands = 0
    /// The replies read so far for the head of `inFlight` (only the head is ever partly answered). Kept here rather
    /// than in the element: a `CircularBuffer` element changed in place is copied out and back, which retained
    /// everything it holds and copied its reply list for every reply.
    private var headReplies: [RedisReply] = []
    private var backoff: RedisBackoff
    private var reportedOutage = false
    private var lastActivity = NIODeadline.now()
    private var flushScheduled = false
    /// Commands that can wait (`RedisPendingCommand.canWait`) are written but not flushed yet.
    private var canWaitUnflushed = false
    /// Whether the callback that flushes them if no other write has is armed: at most once per delay, never
    /// cancelled, and without the promise a `scheduleTask` makes (a timer per command, or a cancel per flush,
    /// would cost more than the write it saves).
    private var convenientFlushArmed = false
    private var timeoutCheck: Scheduled<Void>?
    private var reconnect: Scheduled<Void>?
    private var healthCheck: RepeatedTask?

    init(loop: EventLoop, index: Int, configuration: RedisClient.Configuration, shared: RedisClientState,
         logger: Logger) {
        self.loop = loop
        self.index = index
        self.configuration = configuration
        self.shared = shared
        self.logger = logger
        self.backoff = RedisBackoff(initialMilliseconds: configuration.reconnectInitialDelayMilliseconds,
                                    maximumMilliseconds: configuration.reconnectMaxDelayMilliseconds)
    }

    /// Starts the first connection attempt and the idle health check.
    func start() {
        loop.assertInEventLoop()
        let interval = TimeAmount.milliseconds(Int64(configuration.healthCheckIntervalMilliseconds))
        healthCheck = loop.scheduleRepeatedTask(initialDelay: interval, delay: interval) { [self] _ in
            checkHealth(interval: interval)
        }
        connect()
    }

    // MARK: - Commands

    func enqueue(_ item: RedisPendingCommand) {
        loop.assertInEventLoop()
        switch phase {
        case .down:
            // Failing now instead of queueing is what keeps a Redis outage from stalling requests.
            reject(item, .unavailable("not connected"))
        case .shutdown:
            reject(item, .unavailable("client shut down"))
        case .connecting:
            guard waitingCommands + item.commandCount <= configuration.maxQueuedCommands else {
                reject(item, .overloaded)
                return
            }
            waiting.append(item)
            waitingCommands += item.commandCount
        case .connected:
            guard inFlightCommands + item.commandCount <= configuration.maxQueuedCommands else {
                reject(item, .overloaded)
                return
            }
            send(item)
        }
    }

    private func reject(_ item: RedisPendingCommand, _ error: RedisError) {
        shared.countFailed(commands: item.commandCount)
        item.fail(error)
    }

    private func send(_ item: RedisPendingCommand) {
        guard let channel else { return reject(item, .unavailable("not connected")) }
        // A command that can wait may wait for the convenient flush on top of the timeout.
        let deadline = NIODeadline.now() + timeout + (item.canWait ? convenientFlushDelay : .zero)
        inFlight.append(InFlight(item: item, deadline: deadline))
        inFlightCommands += item.commandCount
        if timeoutCheck == nil { scheduleTimeoutCheck(at: deadline) }
        channel.write(item.batch.resp, promise: nil)
        if item.canWait {
            scheduleConvenientFlush(channel)
        } else {
            scheduleFlush(channel)
        }
    }

    /// Commands sent while the loop handles one round of ready sockets leave in one write: the flush runs as a
    /// task, after the round. Redis then reads them at once and its replies come back together.
    private func scheduleFlush(_ channel: Channel) {
        guard !flushScheduled else { return }
        flushScheduled = true
        loop.execute { [self] in
            flushScheduled = false
            canWaitUnflushed = false
            channel.flush()
        }
    }

    /// Commands that can wait leave with the next flush, or on their own within `convenientFlushDelay`.
    private func scheduleConvenientFlush(_ channel: Channel) {
        guard !flushScheduled else { return }
        canWaitUnflushed = true
        guard !convenientFlushArmed else { return }
        // Scheduling fails only on a loop that is shutting down, which fails the command anyway.
        convenientFlushArmed = (try? loop.scheduleCallback(in: convenientFlushDelay, handler: self)) != nil
    }

    /// The convenient flush (`NIOScheduledCallbackHandler`).
    func handleScheduledCallback(eventLoop: some EventLoop) {
        convenientFlushArmed = false
        guard canWaitUnflushed else { return }
        canWaitUnflushed = false
        channel?.flush()
    }

    // MARK: - Replies

    fileprivate func received(_ buffer: ByteBuffer, generation: Int) {
        guard generation == self.generation else { return }
        lastActivity = .now()
        let fed = buffer.withUnsafeReadableBytes { reader.feed($0) }
        guard fed else { return lose(reason: "out of memory reading a reply") }
        while true {
            switch reader.next() {
            case .failure(let error):
                return lose(reason: "\(error)")
            case .success(nil):
                return
            case .success(let reply?):
                guard let headCommands = inFlight.first?.item.commandCount else {
                    return lose(reason: "a reply nobody asked for")
                }
                headReplies.append(reply)
                if headReplies.count == headCommands {
                    let head = inFlight.removeFirst()
                    inFlightCommands -= headCommands
                    let replies = headReplies
                    headReplies = []
                    head.item.completion(.success(replies))
                    // A completion may have shut the client down or broken the connection.
                    guard generation == self.generation else { return }
                }
            }
        }
    }

    /// The timer is armed once and pushed back lazily: replies that arrive in time cost no timer operations.
    private func scheduleTimeoutCheck(at deadline: NIODeadline) {
        timeoutCheck = loop.scheduleTask(deadline: deadline) { [self] in
            timeoutCheck = nil
            guard let head = inFlight.first else { return }
            if head.deadline <= .now() {
                lose(reason: "no reply within \(configuration.timeoutMilliseconds) ms")
            } else {
                scheduleTimeoutCheck(at: head.deadline)
            }
        }
    }

    /// An idle connection is pinged so that an outage shows in `/health` without traffic.
    private func checkHealth(interval: TimeAmount) {
        guard phase == .connected, inFlight.isEmpty, NIODeadline.now() - lastActivity >= interval else { return }
        send(RedisPendingCommand(commands: [[Array("PING".utf8)]]) { _ in })
    }

    // MARK: - Connection

    private func connect() {
        let generation = self.generation
        let bootstrap = ClientBootstrap(group: loop)
            .connectTimeout(timeout)
            .channelInitializer { [self] channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(
                        RedisChannelHandler(connection: self, generation: generation))
                }
            }
        let connected: EventLoopFuture<Channel>
        switch configuration.url.endpoint {
        case .tcp(let host, let port):
            connected = bootstrap
                .channelOption(ChannelOptions.socketOption(.so_keepalive), value: 1)
                .channelOption(ChannelOptions.tcpOption(.tcp_nodelay), value: 1)
                .connect(host: host, port: port)
        case .unixSocket(let path):
            connected = bootstrap.connect(unixDomainSocketPath: path)
        }
        connected
            .whenComplete { [self] result in
                switch result {
                case .success(let channel):
                    guard generation == self.generation, phase != .shutdown else {
                        channel.close(promise: nil)
                        return
                    }
                    self.channel = channel
                    setUp()
                case .failure(let error):
                    guard generation == self.generation else { return }
                    lose(reason: "connect failed: \(error)")
                }
            }
    }

    /// AUTH, SELECT and the registered scripts go first; commands flow once AUTH and SELECT succeeded.
    private func setUp() {
        let url = configuration.url
        var setup = [[[UInt8]]]()
        if let password = url.password {
            setup.append([Array("AUTH".utf8)] + (url.username.map { [Array($0.utf8)] } ?? []) + [Array(password.utf8)])
        }
        if url.database != 0 {
            setup.append([Array("SELECT".utf8), Array(String(url.database).utf8)])
        }
        for script in shared.scripts {
            setup.append(script.loadCommand)
        }
        guard !setup.isEmpty else { return becameReady() }
        let generation = self.generation
        send(RedisPendingCommand(commands: setup) { [self, setup] result in
            guard generation == self.generation, case .success(let replies) = result else { return }
            // AUTH and SELECT must succeed; a script that fails to load is reported by `evalScript` when its
            // EVALSHA retry hits the same error, so it does not make Redis unusable.
            for (command, reply) in zip(setup, replies) {
                guard case .error(let message) = reply, let verb = command.first, verb != Array("SCRIPT".utf8) else {
                    continue
                }
                // Name the command, never its arguments: they hold the password.
                return lose(reason: "\(String(decoding: verb, as: UTF8.self)) rejected: \(message)")
            }
            becameReady()
        })
    }

    private func becameReady() {
        phase = .connected
        shared.set(phase: .connected, of: index)
        backoff.reset()
        reportedOutage = false
        logger.info("connected to redis")
        let queued = waiting
        waiting = []
        waitingCommands = 0
        for item in queued {
            enqueue(item)
        }
    }

    /// Gives the channel up, fails what it carried and everything waiting, and schedules a reconnect.
    fileprivate func lose(reason: String, generation: Int) {
        guard generation == self.generation else { return }
        lose(reason: reason)
    }

    private func lose(reason: String) {
        guard phase != .shutdown else { return }
        let stranded = abandonChannel()
        let strandedCommands = stranded.reduce(0) { $0 + $1.commandCount }
        shared.countConnectionFailure()
        shared.countFailed(commands: strandedCommands)
        phase = .down
        shared.set(phase: .down, of: index)
        for item in stranded {
            item.fail(.unavailable(reason))
        }
        let metadata: Logger.Metadata = [
            "redis.error": "\(reason)", "redis.failed_commands": "\(strandedCommands)",
        ]
        if reportedOutage {
            logger.debug("redis reconnect failed", metadata: metadata)
        } else {
            logger.warning("redis unavailable; failing commands fast and reconnecting", metadata: metadata)
            reportedOutage = true
        }
        guard phase == .down else { return }  // a completion may have shut the client down
        let delay = backoff.nextDelayMilliseconds()
        logger.debug("redis reconnect scheduled", metadata: ["redis.backoff_ms": "\(delay)"])
        reconnect = loop.scheduleTask(in: .milliseconds(Int64(delay))) { [self] in
            reconnect = nil
            guard phase == .down else { return }
            connect()
        }
    }

    /// Closes the channel (if any) and returns every command it carried or that was waiting for it.
    private func abandonChannel() -> [RedisPendingCommand] {
        generation += 1
        channel?.close(promise: nil)
        channel = nil
        reader = RedisReplyReader()
        timeoutCheck?.cancel()
        timeoutCheck = nil
        canWaitUnflushed = false
        let stranded = inFlight.map(\.item) + waiting
        inFlight.removeAll()
        headReplies = []
        inFlightCommands = 0
        waiting = []
        waitingCommands = 0
        return stranded
    }

    /// Stops for good: fails what is queued or in flight, closes the channel, cancels the timers.
    func shutDown() {
        loop.assertInEventLoop()
        guard phase != .shutdown else { return }
        phase = .shutdown
        shared.set(phase: .down, of: index)
        healthCheck?.cancel()
        reconnect?.cancel()
        let stranded = abandonChannel()
        shared.countFailed(commands: stranded.reduce(0) { $0 + $1.commandCount })
        for item in stranded {
            item.fail(.unavailable("client shut down"))
        }
    }
}

/// Passes a connection's bytes and its end to the `RedisLoopConnection`; `generation` names the channel.
private final class RedisChannelHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer

    private let connection: RedisLoopConnection
    private let generation: Int

    init(connection: RedisLoopConnection, generation: Int) {
        self.connection = connection
        self.generation = generation
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        connection.received(unwrapInboundIn(data), generation: generation)
    }

    func channelInactive(context: ChannelHandlerContext) {
        connection.lose(reason: "connection closed by server", generation: generation)
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        connection.lose(reason: "\(error)", generation: generation)
        context.close(promise: nil)
    }
}
