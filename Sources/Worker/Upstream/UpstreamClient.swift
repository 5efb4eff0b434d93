import CCurl
import NIOConcurrencyHelpers
import NIOCore
import Shared

/// The worker's upstream HTTP client: one libcurl multi handle, driven by one dedicated thread.
///
/// curl runs with `curl_multi_socket_action`: curl says which sockets to watch (an epoll set) and when to time
/// out, so a wake-up costs work for the sockets that are ready, not for every open transfer (`curl_multi_perform`
/// and `curl_multi_poll` visit them all). The curl thread waits on that set for upstream bytes.
///
/// Everything curl touches is guarded by `curlLock`. An event loop that starts, resumes or cancels a transfer
/// takes the lock if it is free and does the work itself: the request leaves at once, without waking the curl
/// thread (a cross-CPU wake-up per request is a large part of the latency at low load). When the curl thread
/// holds the lock, the command is queued instead and the thread woken through an eventfd, once per batch.
/// Callbacks of transfers may therefore run on either thread; delegates hop to their event loop in any case.
/// A delegate that wants to hop once per pass, not once per callback, asks to be told when the pass ends
/// (`notifyAtPassEnd`): a pass often brings a response's head, body and end together.
final class UpstreamClient: Sendable {
    private enum Command {
        case start(UpstreamTransfer)
        case resume(UpstreamTransfer)
        case cancel(UpstreamTransfer)
        case shutdown
    }

    /// Idle easy handles kept for the next transfers: reusing one skips its allocation and set-up.
    private static let maxSpareHandles = 64
    private static let socketTimeout: curl_socket_t = -1  // CURL_SOCKET_TIMEOUT
    /// The longest the thread sleeps when curl asked for no timer: a safety net, not a mechanism.
    private static let maxWaitMs: Int64 = 1000

    private let commands = NIOLockedValueBox<[Command]>([])
    private let wakeDescriptor: Int32
    private nonisolated(unsafe) let readiness: ReadinessSet

    // MARK: State guarded by curlLock

    private let curlLock = TryLock()
    private nonisolated(unsafe) let multi: UnsafeMutableRawPointer
    /// When curl wants `CURL_SOCKET_TIMEOUT` called; nil: no timer.
    private nonisolated(unsafe) var timerDeadline: NIODeadline?
    /// When the curl thread's current wait ends by itself: a timer set sooner from another thread must wake it.
    private nonisolated(unsafe) var waitEnds: NIODeadline?
    /// Set by `shutdown`: the multi handle is gone.
    private nonisolated(unsafe) var isShutDown = false
    /// Transfers by easy handle.
    private nonisolated(unsafe) var live: [UnsafeMutableRawPointer: UpstreamTransfer] = [:]
    private nonisolated(unsafe) var spareHandles: [UnsafeMutableRawPointer] = []
    /// Who asked, during the current pass, to be told when it ends.
    private nonisolated(unsafe) var passObservers: [UpstreamPassObserver] = []

    /// Opens libcurl and initialises it. Call once per process before any thread starts (libcurl's rule for
    /// `curl_global_init`); a worker that cannot open libcurl cannot serve. `library` replaces libcurl.so.4.
    static func globalInit(library: String? = nil) throws(LibcurlUnavailable) {
        try Libcurl.load(library: library)
        cg_global_init(Int(CURL_GLOBAL_DEFAULT))
    }

    init() {
        // A worker has loaded libcurl at boot (`globalInit`); this covers clients made without it, as in tests.
        do { try Libcurl.load() } catch { fatalError("\(error)") }
        guard let multi = cg_multi_init() else { fatalError("curl_multi_init failed: out of memory") }
        self.multi = multi
        let readiness = ReadinessSet()
        wakeDescriptor = readiness.wakeDescriptor
        self.readiness = readiness
        // Reuse up to this many idle connections to the upstream (per worker).
        _ = cg_multi_setopt_long(multi, CURLMOPT_MAXCONNECTS, 256)
        // Unretained: the curl thread holds the client until the multi handle is cleaned up.
        let context = Unmanaged.passUnretained(self).toOpaque()
        _ = cg_multi_setopt_ptr(multi, CURLMOPT_SOCKETDATA, context)
        _ = cg_multi_setopt_ptr(multi, CURLMOPT_TIMERDATA, context)
        _ = cg_multi_setopt_socket_function(multi, UpstreamClient.onSocket)
        _ = cg_multi_setopt_timer_function(multi, UpstreamClient.onTimer)
        DetachedThread.start(name: "curl-multi") { [self] in run() }
    }

    /// Starts a transfer; the delegate hears about it from whichever thread runs curl at the time.
    func start(_ request: UpstreamRequest, delegate: UpstreamTransferDelegate) -> UpstreamTransfer {
        let transfer = UpstreamTransfer(request: request, delegate: delegate)
        runOrQueue(.start(transfer))
        return transfer
    }

    /// Resumes a transfer its delegate paused.
    func resume(_ transfer: UpstreamTransfer) { runOrQueue(.resume(transfer)) }

    /// Stops a transfer at once (the client left, or a timeout fired). The delegate hears nothing more.
    func cancel(_ transfer: UpstreamTransfer) {
        transfer.markCancelled()
        runOrQueue(.cancel(transfer))
    }

    func shutdown() { send(.shutdown) }

    /// Performs a command on the calling thread when curl is free, else hands it to the curl thread.
    private func runOrQueue(_ command: Command) {
        guard curlLock.tryLock() else {
            send(command)
            return
        }
        defer {
            endPass()
            curlLock.unlock()
        }
        // Commands queued while the curl thread was busy go first, so that commands keep their order.
        guard performQueuedCommands(), perform(command) else { return }
        runTimerIfDue()
        reportCompletions()
        // The curl thread sleeps until `waitEnds`; if curl now wants to be called sooner, cut that sleep short.
        if let timerDeadline, let waitEnds, timerDeadline < waitEnds { ReadinessSet.wake(wakeDescriptor) }
    }

    /// Queues a command; only the first command of an empty queue wakes the thread (it drains them all).
    private func send(_ command: Command) {
        let wasEmpty = commands.withLockedValue { queue -> Bool in
            defer { queue.append(command) }
            return queue.isEmpty
        }
        if wasEmpty { ReadinessSet.wake(wakeDescriptor) }
    }

    /// From a transfer's delegate, inside a curl callback: calls `observer.upstreamPassEnded()` once the curl pass
    /// that is running has ended (still under the curl lock), after every callback of the pass.
    func notifyAtPassEnd(_ observer: UpstreamPassObserver) {
        passObservers.append(observer)
    }

    // MARK: - Driving curl (the curl thread, or a caller that found curlLock free)

    /// Ends a pass (under `curlLock`): tells whoever asked during it.
    private func endPass() {
        guard !passObservers.isEmpty else { return }
        for observer in passObservers { observer.upstreamPassEnded() }
        passObservers.removeAll(keepingCapacity: true)
    }

    private func run() {
        var ready: [ReadinessSet.Event] = []
        ready.reserveCapacity(256)
        while true {
            let timeoutMs = curlLock.withLock {
                let timeoutMs = waitTimeoutMs()
                waitEnds = .now() + .milliseconds(Int64(timeoutMs))
                return timeoutMs
            }
            let woken = readiness.wait(timeoutMs: timeoutMs, into: &ready)
            let keepRunning = curlLock.withLock {
                defer { endPass() }
                waitEnds = nil
                guard !isShutDown else { return false }
                var running: Int32 = 0
                for event in ready {
                    var mask: Int32 = 0
                    if event.readable { mask |= CURL_CSELECT_IN }
                    if event.writable { mask |= CURL_CSELECT_OUT }
                    if event.failed { mask |= CURL_CSELECT_ERR }
                    cg_multi_socket_action(multi, event.fd, mask, &running)
                }
                if woken, !performQueuedCommands() { return false }
                runTimerIfDue()
                reportCompletions()
                return true
            }
            if !keepRunning { return }
        }
    }

    /// Calls curl for its timer if it is due (under `curlLock`).
    private func runTimerIfDue() {
        guard let deadline = timerDeadline, deadline <= .now() else { return }
        timerDeadline = nil
        var running: Int32 = 0
        cg_multi_socket_action(multi, Self.socketTimeout, 0, &running)
    }

    private func waitTimeoutMs() -> Int32 {
        guard let timerDeadline else { return Int32(Self.maxWaitMs) }
        let nanoseconds = (timerDeadline - .now()).nanoseconds
        guard nanoseconds > 0 else { return 0 }
        return Int32(min((nanoseconds + 999_999) / 1_000_000, Self.maxWaitMs))
    }

    /// Performs the queued commands (under `curlLock`); false once told to shut down.
    private func performQueuedCommands() -> Bool {
        let pending = commands.withLockedValue { queue -> [Command] in
            defer { queue.removeAll(keepingCapacity: true) }
            return queue
        }
        for command in pending where !perform(command) { return false }
        return true
    }

    /// Performs one command (under `curlLock`); false once shut down.
    private func perform(_ command: Command) -> Bool {
        guard !isShutDown else { return false }
        switch command {
        case .start(let transfer): add(transfer)
        case .resume(let transfer):
            if let easy = transfer.easy { cg_easy_pause(easy, CURLPAUSE_CONT) }
        case .cancel(let transfer): remove(transfer)
        case .shutdown:
            for transfer in Array(live.values) { remove(transfer) }
            for easy in spareHandles { cg_easy_cleanup(easy) }
            spareHandles.removeAll()
            cg_multi_cleanup(multi)
            isShutDown = true
            return false
        }
        return true
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
        guard let easy = spareHandles.popLast() ?? cg_easy_init() else {
            transfer.delegate.upstreamCompleted(error: UpstreamTransportError(kind: .other, detail: "curl_easy_init failed"))
            return
        }
        transfer.attach(to: easy)
        live[easy] = transfer
        cg_multi_add_handle(multi, easy)
    }

    private func remove(_ transfer: UpstreamTransfer) {
        guard let easy = transfer.easy else { return }
        cg_multi_remove_handle(multi, easy)
        live[easy] = nil
        transfer.detach()
        if spareHandles.count < Self.maxSpareHandles {
            cg_easy_reset(easy)
            spareHandles.append(easy)
        } else {
            cg_easy_cleanup(easy)
        }
    }

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

    // MARK: - curl's socket and timer callbacks (from inside curl calls, so under curlLock)

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

    /// curl asks to be called with `CURL_SOCKET_TIMEOUT` after `timeoutMs` (-1: cancel the timer).
    private static let onTimer: curl_multi_timer_callback = { _, timeoutMs, context in
        guard let context else { return 0 }
        let client = Unmanaged<UpstreamClient>.fromOpaque(context).takeUnretainedValue()
        client.timerDeadline = timeoutMs < 0 ? nil : .now() + .milliseconds(Int64(timeoutMs))
        return 0
    }
}
