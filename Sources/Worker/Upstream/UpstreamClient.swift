import CCurl
import Glibc
import NIOCore
import Shared

/// The upstream HTTP client of one event loop: a libcurl multi handle driven by that loop's own thread.
///
/// curl runs with `curl_multi_socket_action`: curl says which sockets to watch (a `ReadinessSet`, an epoll set)
/// and when to time out, so a wake-up costs work for the sockets that are ready, not for every open transfer.
/// That epoll set is nested in the event loop's (`EventLoopEpoll`): the loop wakes when an upstream socket is
/// ready, as it does for its client connections. NIO skips the unknown descriptor; at the end of the loop's tick
/// (`loopTickEnded`, from the group's `UpstreamTickHook`) the client asks the set which sockets are ready and
/// queues a task in which curl reads them. A kept-alive connection stays in the set between transfers (see
/// `ReadinessSet`), so reusing it costs no `epoll_ctl`. A request leaves from the loop that received it, and its
/// answer is read and relayed by that same thread: no thread of its own, no lock, no cross-thread wake-up.
///
/// Everything runs on `loop`; calls from another thread (tests) hop to it. Each call into curl is a pass;
/// callbacks of transfers run inside it and must not call back into the client, except `notifyAtPassEnd`.
final class UpstreamClient: @unchecked Sendable {
    /// Idle connections to the upstream curl keeps for reuse, per event loop, beside those of the transfers under way
    /// (see `updateConnectionLimit`).
    private static let maxIdleConnections = 256
    /// Idle easy handles kept for the next transfers: reusing one skips its allocation and set-up (about 15,000
    /// instructions). As many as the idle connections, so that a burst the connections are kept for does not make
    /// and free a handle per transfer: at most about 1.4 MB a loop once a burst is over (BENCHMARKS.md,
    /// "Twenty-eighth round").
    private static let maxSpareHandles = maxIdleConnections
    private static let socketTimeout: curl_socket_t = -1  // CURL_SOCKET_TIMEOUT

    let loop: EventLoop
    /// Whether transfers share HTTP/2 connections (`UPSTREAM_STREAMS_PER_CONNECTION` above 1).
    ///
    /// Off by default: with libcurl 7.88 a wake-up for a shared connection's socket runs every transfer on that
    /// connection, so a relayed chunk costs work for each stream sharing it (at 100 streams on one connection,
    /// 1.5–2.1× the CPU per chunk of a connection each: BENCHMARKS.md, "Thirtieth round"). Each open request then
    /// has a connection of its own, kept for the next one (unless the request was cancelled: see `cancel`), and
    /// speaks HTTP/1.1: with nothing to share, HTTP/2 only adds work (a kept-alive request over TLS 1.19× the
    /// instructions, a relayed chunk 1.06×: "Thirty-first round").
    /// On, curl offers HTTP/2 in the TLS handshake, and a transfer to an `https://` upstream that finds the first
    /// connection still in its handshake waits to share it (`CURLOPT_PIPEWAIT`), so a burst of new requests costs one
    /// handshake for up to that many streams instead of one each; an upstream without HTTP/2 says so in the same
    /// handshake, and the waiting transfers open their own. Over plain HTTP nothing waits: curl would learn that an
    /// `http://` upstream cannot multiplex only from the first answer's head, and hold the burst until then.
    private let sharesConnections: Bool
    /// `UPSTREAM_CA_FILE`, for each new easy handle (see `UpstreamTrust`).
    private let caFile: String?
    private let multi: UnsafeMutableRawPointer
    /// The TLS sessions of the loop's connections, shared by all its easy handles (a curl share): a new connection
    /// resumes the session an earlier one to the upstream left, whichever handle made it, instead of a full handshake
    /// (the server's certificate chain sent and verified again). Without it each handle keeps sessions of its own, so
    /// every handle made for a burst beyond the spare ones started with a full handshake. Over TLS 1.3 some still do:
    /// OpenSSL spends a session once it has resumed with it, and libcurl 7.88 keeps one per host until the next
    /// ticket arrives (BENCHMARKS.md, "Thirty-fifth round").
    private let tlsSessions: UnsafeMutableRawPointer
    private let readiness: ReadinessSet
    /// When curl wants `CURL_SOCKET_TIMEOUT` called; nil: no timer.
    private var timerDeadline: NIODeadline?
    /// The loop task that calls curl's timer, and when it runs (it may run early: it then re-arms).
    private var armedTimer: (task: Scheduled<Void>, deadline: NIODeadline)?
    /// A task to let curl read ready sockets is queued (found by `loopTickEnded`).
    private var driveQueued = false
    /// That task, made once: a closure made for every drive is an allocation per relayed chunk. It holds the client,
    /// as the tick hook does, until `shutdown`.
    private var driveTask: (@Sendable () -> Void)?
    /// Ticks in a row that ran no task while the set held only parked connections (see `loopTickEnded`).
    private var quietTicks = 0
    private static let quietTicksBeforeLook = 4
    private var ready: [ReadinessSet.Event] = []
    /// Set by `shutdown`: the multi handle is gone.
    private var isShutDown = false
    /// Transfers by easy handle.
    private var live: [UnsafeMutableRawPointer: UpstreamTransfer] = [:]
    /// Idle easy handles, configured (`UpstreamTransfer.configure`) and not reset: the next transfer sets only what
    /// differs between transfers.
    private var spareHandles: [UnsafeMutableRawPointer] = []
    private let headers: UpstreamHeaderList
    /// Who asked, during the current pass, to be told when it ends.
    private var passObservers = RecycledList<UpstreamPassObserver>()
    /// The hook that tells this client when its loop's ticks end; it holds the client until `shutdown`.
    private var ticks: UpstreamTickHook?

    /// Opens libcurl and initialises it. Call once per process before any thread starts (libcurl's rule for
    /// `curl_global_init`); a worker that cannot open libcurl cannot serve. `library` replaces libcurl.so.4.
    static func globalInit(library: String? = nil) throws(LibcurlUnavailable) {
        try Libcurl.load(library: library)
        cg_global_init(Int(CURL_GLOBAL_DEFAULT))
    }

    /// A client driven by `loop`, a loop of a group made with `ticks` as its metrics delegate.
    static func make(on loop: EventLoop, ticks: UpstreamTickHook,
                     settings: UpstreamConnectionSettings = .init()) -> EventLoopFuture<UpstreamClient> {
        EventLoopEpoll.descriptor(of: loop).flatMapThrowing { loopEpoll in
            let client = UpstreamClient(loop: loop, settings: settings)
            try client.readiness.nest(into: loopEpoll)
            client.driveTask = { [client] in client.driveReadySockets() }
            ticks.register(client)
            client.ticks = ticks
            return client
        }
    }

    private init(loop: EventLoop, settings: UpstreamConnectionSettings) {
        // A worker has loaded libcurl at boot (`globalInit`); this covers clients made without it, as in tests.
        do { try Libcurl.load() } catch { fatalError("\(error)") }
        guard let multi = cg_multi_init() else { fatalError("curl_multi_init failed: out of memory") }
        guard let tlsSessions = cg_share_init() else { fatalError("curl_share_init failed: out of memory") }
        _ = cg_share_setopt_long(tlsSessions, CURLSHOPT_SHARE, Int(CURL_LOCK_DATA_SSL_SESSION.rawValue))
        self.loop = loop
        self.multi = multi
        self.tlsSessions = tlsSessions
        headers = UpstreamHeaderList()
        readiness = ReadinessSet()
        ready.reserveCapacity(256)
        sharesConnections = settings.streamsPerConnection > 1
        caFile = settings.caFile
        let pipelining = sharesConnections ? CURLPIPE_MULTIPLEX : CURLPIPE_NOTHING
        _ = cg_multi_setopt_long(multi, CURLMOPT_PIPELINING, Int(pipelining))
        if sharesConnections {
            _ = cg_multi_setopt_long(multi, CURLMOPT_MAX_CONCURRENT_STREAMS, settings.streamsPerConnection)
        }
        // Unretained: the client outlives the multi handle (`shutdown` cleans it up).
        let context = Unmanaged.passUnretained(self).toOpaque()
        _ = cg_multi_setopt_ptr(multi, CURLMOPT_SOCKETDATA, context)
        _ = cg_multi_setopt_ptr(multi, CURLMOPT_TIMERDATA, context)
        _ = cg_multi_setopt_socket_function(multi, UpstreamClient.onSocket)
        _ = cg_multi_setopt_timer_function(multi, UpstreamClient.onTimer)
        updateConnectionLimit()
    }

    /// Starts a transfer; the delegate hears about it on the loop.
    func start(_ request: UpstreamRequest, delegate: UpstreamTransferDelegate) -> UpstreamTransfer {
        let transfer = UpstreamTransfer(request: request, delegate: delegate)
        onLoop { [self] in pass(.caller) { add(transfer) } }
        return transfer
    }

    /// Resumes a transfer its delegate paused.
    func resume(_ transfer: UpstreamTransfer) {
        onLoop { [self] in
            // curl hands the bytes it held back to the write callback inside this call.
            pass(.caller) {
                if let easy = transfer.easy { cg_easy_pause(easy, CURLPAUSE_CONT) }
            }
        }
    }

    /// Stops a transfer at once (the client left, or a timeout fired). The delegate hears nothing more.
    ///
    /// The upstream must hear of it at once: it generates, and bills, every token until then. Over HTTP/1.1 curl
    /// closes the connection of a transfer removed before its end. Over HTTP/2 (`UPSTREAM_STREAMS_PER_CONNECTION`
    /// above 1), libcurl 7.88 keeps the connection and queues the stream's reset, which leaves only when the
    /// connection is next used, so an idle worker's cancelled stream ran to its end upstream. The transfer's
    /// connection is therefore not kept for reuse (`CURLOPT_FORBID_REUSE`): curl closes it, unless other streams
    /// still use it; the reset then leaves when curl next writes there for them.
    func cancel(_ transfer: UpstreamTransfer) {
        transfer.markCancelled()
        onLoop { [self] in pass(.caller) { remove(transfer, endingConnection: true) } }
    }

    /// Frees the idle easy handles beyond the `count` used last (a quiet worker's memory release,
    /// `IdleMemoryRelease`); completes on the loop. The TLS sessions stay: they belong to the loop, not to a handle.
    func releaseSpareHandles(keeping count: Int) -> EventLoopFuture<Void> {
        loop.submit { [self] in
            let surplus = spareHandles.count - count
            guard surplus > 0 else { return }
            for easy in spareHandles[..<surplus] { cg_easy_cleanup(easy) }
            spareHandles.removeFirst(surplus)
        }
    }

    /// Ends every transfer and frees the multi handle; completes on the loop.
    func shutdown() -> EventLoopFuture<Void> {
        loop.submit { [self] in
            guard !isShutDown else { return }
            isShutDown = true
            for transfer in Array(live.values) { remove(transfer) }
            for easy in spareHandles { cg_easy_cleanup(easy) }
            spareHandles.removeAll()
            armedTimer?.task.cancel()
            armedTimer = nil
            cg_multi_cleanup(multi)
            // Every easy handle is gone: curl refuses to free a share still in use.
            cg_share_cleanup(tlsSessions)
            readiness.unnest()
            ticks?.unregister(self)
            ticks = nil
            driveTask = nil
        }
    }

    /// From a transfer's delegate, inside a curl callback: calls `observer.upstreamPassEnded()` once the curl pass
    /// that is running has ended, after every callback of the pass, and never from inside a call into the client.
    func notifyAtPassEnd(_ observer: UpstreamPassObserver) {
        passObservers.append(observer)
    }

    /// The loop's tick has ended (on the loop): when an upstream socket is ready, queue a task in which curl
    /// reads it. Not done here: NIO has already decided how long it will sleep, and would not see tasks that
    /// curl's callbacks schedule. The ready socket keeps the loop's wait short until the task has run.
    ///
    /// When curl watches no socket and the set holds only parked connections, the look is saved: most such ticks
    /// are a client's request on its way in. A parked socket that turns ready (the upstream closed an idle
    /// connection) makes the loop wake for it over and over with nothing else to do; a look after a few such ticks
    /// in a row takes it out.
    func loopTickEnded(ranTasks: Bool) {
        guard !driveQueued, !isShutDown, !readiness.isEmpty else { return }
        if readiness.watchesAny {
            quietTicks = 0
        } else {
            quietTicks = ranTasks ? 0 : quietTicks + 1
            guard quietTicks >= Self.quietTicksBeforeLook else { return }
            quietTicks = 0
        }
        readiness.poll(into: &ready)
        guard !ready.isEmpty, let driveTask else { return }
        driveQueued = true
        loop.execute(driveTask)
    }

    /// The task `loopTickEnded` queues: curl reads the sockets found ready.
    private func driveReadySockets() {
        driveQueued = false
        pass(.loop) {
            var running: Int32 = 0
            for event in ready {
                var mask: Int32 = 0
                if event.readable { mask |= CURL_CSELECT_IN }
                if event.writable { mask |= CURL_CSELECT_OUT }
                if event.failed { mask |= CURL_CSELECT_ERR }
                cg_multi_socket_action(multi, event.fd, mask, &running)
                // A transfer that ended is removed before the next socket's turn, so that its connection no longer
                // counts as one in use when curl next checks its limit (see `updateConnectionLimit`).
                if Int(running) < live.count { reportCompletions() }
            }
        }
    }

    // MARK: - Driving curl (on the loop)

    private func onLoop(_ body: @escaping @Sendable () -> Void) {
        if loop.inEventLoop {
            body()
        } else {
            loop.execute(body)
        }
    }

    /// Who made a pass: the loop itself, for curl's sockets or its timer, or a caller of `start`, `resume` or
    /// `cancel`, which is still inside that call when the pass ends.
    private enum PassOrigin {
        case loop
        case caller
    }

    /// One call into curl and what follows it: curl's timer when due, finished transfers, the timer task re-armed,
    /// and the observers of the pass told. After a pass the loop made, nothing but the loop is on the stack, so they
    /// are told at once. After a caller's pass they are told in a task: the caller is an exchange in the middle of
    /// its own work, which a report delivered now would re-enter.
    private func pass(_ origin: PassOrigin, _ body: () -> Void) {
        guard !isShutDown else { return }
        body()
        runTimerIfDue()
        reportCompletions()
        armTimer()
        guard !passObservers.isEmpty else { return }
        var observers = passObservers.takeAll()
        switch origin {
        case .loop:
            for observer in observers { observer.upstreamPassEnded() }
            passObservers.recycle(&observers)
        case .caller:
            let told = observers
            loop.execute {
                for observer in told { observer.upstreamPassEnded() }
            }
        }
    }

    /// Calls curl for its timer if it is due.
    private func runTimerIfDue() {
        guard let deadline = timerDeadline, deadline <= .now() else { return }
        timerDeadline = nil
        var running: Int32 = 0
        cg_multi_socket_action(multi, Self.socketTimeout, 0, &running)
    }

    /// Makes sure a loop task runs by curl's timer. A task already armed for that time or sooner is kept (when it
    /// runs early it arms again), so a timer curl pushes back costs nothing.
    private func armTimer() {
        guard let deadline = timerDeadline else { return }
        if let armedTimer, armedTimer.deadline <= deadline { return }
        armedTimer?.task.cancel()
        let task = loop.scheduleTask(deadline: deadline) { [self] in
            armedTimer = nil
            pass(.loop) {}
        }
        armedTimer = (task, deadline)
    }

    private func reportCompletions() {
        var easy: UnsafeMutableRawPointer?
        var result = CURLE_OK
        while cg_multi_info_read_done(multi, &easy, &result) == 1 {
            guard let easy, let transfer = live[easy] else { continue }
            finish(transfer, result: result)
        }
    }

    private func add(_ transfer: UpstreamTransfer) {
        guard !transfer.isCancelled else { return }
        guard let easy = spareHandles.popLast() ?? newHandle() else {
            let error = UpstreamTransportError(kind: .other, detail: "curl_easy_init failed")
            transfer.delegate.upstreamCompleted(error: error)
            return
        }
        guard transfer.attach(to: easy, headers: headers,
                              waitToShare: sharesConnections && transfer.request.url.isHTTPS) else {
            spareHandles.append(easy)
            transfer.delegate.upstreamCompleted(error: UpstreamTransportError(kind: .other, detail: "out of memory"))
            return
        }
        live[easy] = transfer
        // With no idle connection (none parked), curl's search for one to reuse would walk every connection it
        // holds, all of them in use: 57,000 instructions a transfer with 2,000 streams on a loop (BENCHMARKS.md,
        // "Twenty-seventh round"). curl looks for the new transfer's connection within this pass, so the count is
        // current. A parked socket may also be a paused transfer's (then curl searches, as before); an idle
        // connection that is not parked is one the upstream closed.
        let noIdleConnection = !sharesConnections && readiness.parkedCount == 0
        _ = cg_easy_setopt_long(easy, CURLOPT_FRESH_CONNECT, noIdleConnection ? 1 : 0)
        updateConnectionLimit()
        cg_multi_add_handle(multi, easy)
    }

    /// Sets `CURLMOPT_MAXCONNECTS` to the transfers under way plus `maxIdleConnections`. curl counts the connections
    /// in use against that limit too, and when a transfer ends over it, closes the oldest idle connection: with a
    /// fixed limit of 256, a loop with more than 256 transfers under way closed each connection as its transfer
    /// ended (the only idle one), and the next transfer opened a new one: over TLS, a handshake a request
    /// (BENCHMARKS.md, "Thirty-ninth round"). Called as transfers are added and removed (a transfer that ended is
    /// removed before curl reads the next ready socket), so that once a burst is over each transfer that ends closes
    /// one idle connection until `maxIdleConnections` are left.
    private func updateConnectionLimit() {
        _ = cg_multi_setopt_long(multi, CURLMOPT_MAXCONNECTS, live.count + Self.maxIdleConnections)
    }

    /// `endingConnection`: the transfer's connection is closed rather than kept (when no other transfer uses it).
    private func remove(_ transfer: UpstreamTransfer, endingConnection: Bool = false) {
        guard let easy = transfer.easy else { return }
        if endingConnection { _ = cg_easy_setopt_long(easy, CURLOPT_FORBID_REUSE, 1) }
        cg_multi_remove_handle(multi, easy)
        // The handle is kept for other transfers, whose connections are kept.
        if endingConnection { _ = cg_easy_setopt_long(easy, CURLOPT_FORBID_REUSE, 0) }
        live[easy] = nil
        updateConnectionLimit()
        transfer.detach()
        if spareHandles.count < Self.maxSpareHandles, !isShutDown {
            spareHandles.append(easy)
        } else {
            cg_easy_cleanup(easy)
        }
    }

    private func newHandle() -> UnsafeMutableRawPointer? {
        guard let easy = cg_easy_init() else { return nil }
        UpstreamTransfer.configure(easy, offeringHTTP2: sharesConnections)
        UpstreamTrust.apply(to: easy, caFile: caFile)
        _ = cg_easy_setopt_ptr(easy, CURLOPT_SHARE, tlsSessions)
        // The client opens and closes curl's sockets, so that its set may keep idle connections registered.
        let context = Unmanaged.passUnretained(self).toOpaque()
        _ = cg_easy_setopt_opensocket_function(easy, UpstreamClient.onOpenSocket)
        _ = cg_easy_setopt_ptr(easy, CURLOPT_OPENSOCKETDATA, context)
        _ = cg_easy_setopt_closesocket_function(easy, UpstreamClient.onCloseSocket)
        _ = cg_easy_setopt_ptr(easy, CURLOPT_CLOSESOCKETDATA, context)
        return easy
    }

    /// How many system calls the client's socket set has made to change its registrations, and how many sockets it
    /// holds (parked ones included); for tests.
    var socketSetStatistics: (kernelUpdates: Int, registered: Int, parked: Int) {
        (readiness.kernelUpdates, readiness.registeredCount, readiness.parkedCount)
    }

    /// Idle easy handles kept for the next transfers; for tests. On the loop.
    var spareHandleCount: Int { spareHandles.count }

    private func finish(_ transfer: UpstreamTransfer, result: CURLcode) {
        let error: UpstreamTransportError?
        if result == CURLE_OK {
            error = nil
        } else {
            let detail = String(cString: cg_easy_strerror(result))
            let kind: UpstreamTransportError.Kind = switch result {
            case CURLE_COULDNT_CONNECT, CURLE_COULDNT_RESOLVE_HOST, CURLE_SSL_CONNECT_ERROR: .connect
            case CURLE_OPERATION_TIMEDOUT: .timeout
            case CURLE_RECV_ERROR, CURLE_SEND_ERROR, CURLE_PARTIAL_FILE, CURLE_GOT_NOTHING: .connectionLost
            default: .other
            }
            error = UpstreamTransportError(kind: kind, detail: "upstream transfer failed: \(detail)")
        }
        remove(transfer)
        if !transfer.isCancelled { transfer.delegate.upstreamCompleted(error: error) }
    }

    // MARK: - curl's socket and timer callbacks (from inside curl calls, on the loop)

    /// curl says which directions it waits for on a socket (`CURL_POLL_*`), or that it is done with it.
    private static let onSocket: curl_socket_callback = { _, fd, what, context, _ in
        guard let context else { return 0 }
        let client = Unmanaged<UpstreamClient>.fromOpaque(context).takeUnretainedValue()
        if what == CURL_POLL_REMOVE {
            client.readiness.unwatch(fd)
        } else {
            client.readiness.watch(fd, readable: what & CURL_POLL_IN != 0, writable: what & CURL_POLL_OUT != 0)
        }
        return 0
    }

    /// curl opens a socket for a connection: made here (close-on-exec) so that the set knows its closing is
    /// announced (`onCloseSocket`).
    private static let onOpenSocket: curl_opensocket_callback = { context, _, address in
        guard let context, let address else { return -1 }  // CURL_SOCKET_BAD
        let fd = socket(address.pointee.family, address.pointee.socktype | Int32(SOCK_CLOEXEC.rawValue),
                        address.pointee.protocol)
        guard fd >= 0 else { return -1 }
        Unmanaged<UpstreamClient>.fromOpaque(context).takeUnretainedValue().readiness.opened(fd)
        return fd
    }

    /// curl closes a socket it opened through `onOpenSocket`.
    private static let onCloseSocket: curl_closesocket_callback = { context, fd in
        if let context { Unmanaged<UpstreamClient>.fromOpaque(context).takeUnretainedValue().readiness.closing(fd) }
        return close(fd)
    }

    /// curl asks to be called with `CURL_SOCKET_TIMEOUT` after `timeoutMs` (-1: cancel the timer).
    private static let onTimer: curl_multi_timer_callback = { _, timeoutMs, context in
        guard let context else { return 0 }
        let client = Unmanaged<UpstreamClient>.fromOpaque(context).takeUnretainedValue()
        client.timerDeadline = timeoutMs < 0 ? nil : .now() + .milliseconds(Int64(timeoutMs))
        return 0
    }
}
