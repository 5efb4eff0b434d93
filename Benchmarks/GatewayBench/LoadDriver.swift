import NIOCore
import NIOHTTP1
import NIOPosix

/// What one load run sends and how: shared, immutable, by every event loop.
struct LoadSpec: Sendable {
    var host: String
    var port: Int
    var api: APIKind
    var head: HTTPRequestHead
    var body: ByteBuffer
    /// With `--unique`: where in `body` each request's number is written.
    var uniqueOffset: Int? = nil
    var stream: Bool
    var expectTokens: Int?
    /// `paced;tool=1`: the tokens arrive as a tool call's arguments, not as text.
    var tokensInToolCall = false
    /// Connections per run (closed loop: the concurrency; open loop: the pool size).
    var connections: Int
    /// Total requests to start; nil: until `duration` ends.
    var requests: Int?
    /// Seconds during which new requests start.
    var duration: Double
    /// Open loop: arrivals per second (intended start times fixed in advance); nil: closed loop.
    var rate: Double?
    /// Seconds after `duration` that in-flight requests may take before they are aborted.
    var grace: Double
}

/// The load on one event loop: its connections, its share of the budget and its statistics.
///
/// Confined to its loop (every method runs there), so it needs no locks.
final class LoadDriver {
    let loop: EventLoop
    let spec: LoadSpec
    let connectionTarget: Int
    let rate: Double?
    private var budget: Int
    private(set) var stats = RunStats()

    private var connections: [ObjectIdentifier: ConnectionHandler] = [:]
    private var idle: [ConnectionHandler] = []
    private var pendingStarts: [UInt64] = []
    private var pendingHead = 0
    private var inFlight = 0
    private var issuing = false
    private var stopping = false
    private var issueDeadline: UInt64 = 0
    private var nextArrival: UInt64 = 0
    private var arrivalInterval: UInt64 = 0
    private var donePromise: EventLoopPromise<Void>?
    private var connectPromise: EventLoopPromise<Void>?
    private var connectsOutstanding = 0
    /// `--unique`: the numbers this driver hands out (drivers start at different ranges).
    var uniqueNumber: UniqueNumber

    static let maxPendingArrivals = 1_000_000

    init(loop: EventLoop, spec: LoadSpec, connections: Int, budget: Int?, rate: Double?) {
        self.loop = loop
        self.spec = spec
        self.connectionTarget = connections
        self.budget = budget ?? .max
        self.rate = rate
        self.uniqueNumber = UniqueNumber(start: UInt64(UInt32.random(in: 0...UInt32.max)) << 20)
    }

    // MARK: - Phases

    /// Opens the connection pool; succeeds when every connect attempt has finished (failures are counted).
    func connectAll() -> EventLoopFuture<Void> {
        let promise = loop.makePromise(of: Void.self)
        connectPromise = promise
        connectsOutstanding = connectionTarget
        if connectionTarget == 0 { promise.succeed() }
        // Connect in waves so a 2,000-connection run does not overflow the listener's accept queue.
        connectWave(remaining: connectionTarget)
        return promise.futureResult
    }

    private func connectWave(remaining: Int) {
        let wave = min(remaining, 128)
        for _ in 0..<wave { openConnection(initial: true) }
        if remaining > wave {
            loop.assumeIsolated().scheduleTask(in: .milliseconds(5)) { self.connectWave(remaining: remaining - wave) }
        }
    }

    private func openConnection(initial: Bool) {
        let bound = NIOLoopBound(self, eventLoop: loop)
        ClientBootstrap(group: loop)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .connectTimeout(.seconds(10))
            .channelInitializer { channel in
                let driver = bound.value
                do {
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                    try channel.pipeline.syncOperations.addHandler(ConnectionHandler(driver: driver))
                    return channel.eventLoop.makeSucceededVoidFuture()
                } catch {
                    return channel.eventLoop.makeFailedFuture(error)
                }
            }
            .connect(host: spec.host, port: spec.port)
            .assumeIsolated()
            .whenComplete { result in
                if case .failure(let error) = result {
                    self.stats.connectFailures += 1
                    self.stats.error("connect", detail: "connect: \(error)")
                    if !initial { self.reconnectLater() }
                }
                if initial { self.connectFinished() }
            }
    }

    private func connectFinished() {
        connectsOutstanding -= 1
        if connectsOutstanding == 0 {
            connectPromise?.succeed()
            connectPromise = nil
        }
    }

    /// Starts the measured phase at `start` (a monotonic time shared by every loop).
    func begin(start: UInt64) -> EventLoopFuture<Void> {
        let promise = loop.makePromise(of: Void.self)
        donePromise = promise
        issuing = true
        issueDeadline = start + UInt64(spec.duration * 1e9)
        let hardStop = spec.duration + spec.grace
        loop.assumeIsolated().scheduleTask(in: .nanoseconds(Int64(hardStop * 1e9))) { self.abortAll() }
        if let rate, rate > 0 {
            arrivalInterval = UInt64(1e9 / rate)
            nextArrival = start
            tick()
        } else {
            let ready = idle
            idle.removeAll()
            for connection in ready { startNext(on: connection) }
            if ready.isEmpty { stopIssuing() }
        }
        checkDone()
        return promise.futureResult
    }

    // MARK: - Open loop

    private func tick() {
        guard issuing else { return }
        let now = Clock.monotonicNanos()
        while nextArrival <= now {
            if nextArrival >= issueDeadline || budget <= 0 {
                stopIssuing()
                return
            }
            budget -= 1
            if let connection = idle.popLast() {
                send(on: connection, intendedStart: nextArrival)
            } else if pendingStarts.count - pendingHead < Self.maxPendingArrivals {
                pendingStarts.append(nextArrival)
            } else {
                stats.droppedArrivals += 1
            }
            nextArrival += arrivalInterval
        }
        // Sleep until the next arrival, but no less than 50 µs: the timer itself costs CPU.
        let wait = max(Int64(nextArrival) - Int64(Clock.monotonicNanos()), 50_000)
        loop.assumeIsolated().scheduleTask(in: .nanoseconds(wait)) { self.tick() }
    }

    // MARK: - Requests

    private func startNext(on connection: ConnectionHandler) {
        if pendingHead < pendingStarts.count {
            let intended = pendingStarts[pendingHead]
            pendingHead += 1
            if pendingHead > 4096, pendingHead * 2 > pendingStarts.count {
                pendingStarts.removeFirst(pendingHead)
                pendingHead = 0
            }
            send(on: connection, intendedStart: intended)
            return
        }
        guard issuing, rate == nil else {
            idle.append(connection)
            return
        }
        if budget <= 0 || Clock.monotonicNanos() >= issueDeadline {
            stopIssuing()
            idle.append(connection)
            return
        }
        budget -= 1
        send(on: connection, intendedStart: Clock.monotonicNanos())
    }

    private func send(on connection: ConnectionHandler, intendedStart: UInt64) {
        inFlight += 1
        connection.send(intendedStart: intendedStart)
    }

    private func stopIssuing() {
        issuing = false
        checkDone()
    }

    private func checkDone() {
        guard !issuing, inFlight == 0, pendingHead >= pendingStarts.count, let promise = donePromise else { return }
        donePromise = nil
        promise.succeed()
    }

    // MARK: - Callbacks from connections

    func connectionReady(_ connection: ConnectionHandler) {
        connections[ObjectIdentifier(connection)] = connection
        stats.connectionsOpened += 1
        if donePromise != nil {
            startNext(on: connection)
        } else {
            idle.append(connection)
        }
    }

    func requestFinished(_ connection: ConnectionHandler, reusable: Bool) {
        inFlight -= 1
        if reusable && !stopping {
            startNext(on: connection)
        }
        checkDone()
    }

    func connectionClosed(_ connection: ConnectionHandler, hadRequest: Bool) {
        connections[ObjectIdentifier(connection)] = nil
        idle.removeAll { $0 === connection }
        if hadRequest { inFlight -= 1 }
        if !stopping && (issuing || pendingHead < pendingStarts.count) { reconnectLater() }
        checkDone()
    }

    private func reconnectLater() {
        guard !stopping else { return }
        loop.assumeIsolated().scheduleTask(in: .milliseconds(10)) {
            if !self.stopping && (self.issuing || self.pendingHead < self.pendingStarts.count) {
                self.openConnection(initial: false)
            }
        }
    }

    func record(_ body: (inout RunStats) -> Void) {
        body(&stats)
    }

    // MARK: - Stop

    /// The grace period is over: requests still running are aborted and counted.
    private func abortAll() {
        guard donePromise != nil else { return }
        stopping = true
        issuing = false
        stats.aborted += inFlight + (pendingStarts.count - pendingHead)
        pendingHead = pendingStarts.count
        for connection in connections.values where connection.busy { connection.close() }
        inFlight = 0
        checkDone()
    }

    /// Closes every connection; the run is over.
    func shutdown() -> EventLoopFuture<Void> {
        stopping = true
        issuing = false
        let futures = connections.values.map { $0.close() }
        connections.removeAll()
        idle.removeAll()
        return EventLoopFuture.andAllComplete(futures, on: loop)
    }
}

/// One keep-alive HTTP/1.1 connection: sends the run's request, reads and checks the response.
final class ConnectionHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPClientResponsePart
    typealias OutboundOut = HTTPClientRequestPart

    private let driver: LoadDriver
    private var context: ChannelHandlerContext?
    private(set) var busy = false
    private var closed = false
    private var intendedStart: UInt64 = 0
    private var status = 0
    private var keepAlive = true
    private var check: StreamCheck
    private var body: [UInt8] = []
    private var bytesIn = 0
    private var isEventStream = false

    init(driver: LoadDriver) {
        self.driver = driver
        check = StreamCheck(driver.spec)
    }

    private var announced = false

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        if context.channel.isActive { announce() }
    }

    func channelActive(context: ChannelHandlerContext) {
        announce()
        context.fireChannelActive()
    }

    private func announce() {
        guard !announced else { return }
        announced = true
        driver.connectionReady(self)
    }

    func send(intendedStart: UInt64) {
        guard let context, !closed else {
            // Lost between scheduling and sending: report it as a closed connection.
            busy = true
            finish(error: "connection_closed", reusable: false)
            return
        }
        busy = true
        self.intendedStart = intendedStart
        status = 0
        bytesIn = 0
        keepAlive = true
        isEventStream = false
        body.removeAll(keepingCapacity: true)
        check = StreamCheck(driver.spec)
        context.write(wrapOutboundOut(.head(driver.spec.head)), promise: nil)
        var body = driver.spec.body
        if let offset = driver.spec.uniqueOffset {
            driver.uniqueNumber.write(into: &body, at: offset)
        }
        context.write(wrapOutboundOut(.body(.byteBuffer(body))), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let now = Clock.monotonicNanos()
        switch unwrapInboundIn(data) {
        case .head(let head):
            status = Int(head.status.code)
            keepAlive = head.isKeepAlive
            isEventStream = head.headers.first(name: "content-type")?.hasPrefix("text/event-stream") ?? false
            driver.record { $0.ttfb.record(now &- intendedStart) }
        case .body(let buffer):
            guard busy else { return }
            bytesIn += buffer.readableBytes
            if isEventStream && status == 200 {
                let before = check.contentEvents
                driver.record { stats in
                    self.check.feed(buffer.readableBytesView, now: now, gaps: &stats.gaps)
                    // Counted on arrival, so streams cut off at the end of a run still count what they relayed.
                    stats.chunks += self.check.contentEvents - before
                }
            } else {
                body.append(contentsOf: buffer.readableBytesView)
            }
        case .end:
            guard busy else { return }
            complete(now: now)
        }
    }

    private func complete(now: UInt64) {
        let spec = driver.spec
        var failure: String?
        if status != 200 {
            failure = "HTTP \(status): " + String(decoding: body.prefix(300), as: UTF8.self)
        } else if spec.stream {
            if !isEventStream {
                failure = "not an event stream: " + String(decoding: body.prefix(300), as: UTF8.self)
            } else {
                check.finishStream()
                failure = check.failure
            }
        } else {
            check.checkWholeBody(body)
            failure = check.failure
        }
        let check = self.check
        let status = self.status
        let bytesIn = self.bytesIn
        let start = intendedStart
        driver.record { stats in
            stats.statusCounts[status, default: 0] += 1
            stats.bytesIn += bytesIn
            stats.sseEvents += check.events
            if check.contentEvents > 0 {
                stats.ttft.record(check.firstContentNanos &- start)
                if check.contentEvents > 1 { stats.maxGapPerStream.record(check.maxGapNanos) }
            }
            if spec.expectTokens != nil && status == 200 {
                stats.fidelityChecked += 1
                if check.failure != nil { stats.fidelityFailed += 1 }
            }
            if let failure {
                stats.failed += 1
                stats.error(status != 200 ? "http_\(status)" : "fidelity", detail: failure)
            } else {
                stats.ok += 1
                stats.latency.record(now &- start)
            }
        }
        busy = false
        if !keepAlive {
            closed = true
            context?.close(promise: nil)
        }
        driver.requestFinished(self, reusable: keepAlive)
    }

    private func finish(error kind: String, reusable: Bool) {
        guard busy else { return }
        busy = false
        driver.record { $0.failed += 1; $0.error(kind, detail: kind) }
        driver.requestFinished(self, reusable: reusable)
    }

    func channelInactive(context: ChannelHandlerContext) {
        closed = true
        let hadRequest = busy
        if busy {
            busy = false
            driver.record { $0.failed += 1; $0.error("connection_closed", detail: "connection closed mid-response") }
        }
        driver.connectionClosed(self, hadRequest: hadRequest)
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        driver.record { $0.error("channel_error", detail: "\(error)") }
        context.close(promise: nil)
    }

    @discardableResult
    func close() -> EventLoopFuture<Void> {
        guard let context, !closed else { return driver.loop.makeSucceededVoidFuture() }
        closed = true
        busy = false
        let promise = context.eventLoop.makePromise(of: Void.self)
        context.close(promise: promise)
        return promise.futureResult.recover { _ in }
    }
}
