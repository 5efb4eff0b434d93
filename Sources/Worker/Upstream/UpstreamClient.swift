import CCurl
import NIOConcurrencyHelpers
import NIOCore
import Shared

/// The worker's upstream HTTP client: one libcurl multi handle driven by one dedicated thread.
///
/// Event loops talk to it only through `start`, `resume` and `cancel`, which queue a command and wake the
/// thread through an eventfd. The thread drives curl with `curl_multi_socket_action`: curl tells it which
/// sockets to watch (an epoll set) and when to time out, so a wake-up costs work for the sockets that are
/// ready, not for every open transfer (`curl_multi_perform` and `curl_multi_poll` visit them all).
/// Easy handles are created, used, reset for reuse and freed on the curl thread alone.
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

    private nonisolated(unsafe) let multi: UnsafeMutableRawPointer
    private let commands = NIOLockedValueBox<[Command]>([])
    private let wakeDescriptor: Int32

    // MARK: State owned by the curl thread

    private nonisolated(unsafe) var readiness: ReadinessSet
    /// When curl wants `CURL_SOCKET_TIMEOUT` called; nil: no timer.
    private nonisolated(unsafe) var timerDeadline: NIODeadline?
    /// Transfers by easy handle.
    private nonisolated(unsafe) var live: [UnsafeMutableRawPointer: UpstreamTransfer] = [:]
    private nonisolated(unsafe) var spareHandles: [UnsafeMutableRawPointer] = []

    /// Call once per process before any thread starts (libcurl's rule for `curl_global_init`).
    static func globalInit() {
        curl_global_init(Int(CURL_GLOBAL_DEFAULT))
    }

    init() {
        guard let multi = curl_multi_init() else { fatalError("curl_multi_init failed: out of memory") }
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

    /// Starts a transfer; the delegate hears about it on the curl thread.
    func start(_ request: UpstreamRequest, delegate: UpstreamTransferDelegate) -> UpstreamTransfer {
        let transfer = UpstreamTransfer(request: request, delegate: delegate)
        send(.start(transfer))
        return transfer
    }

    /// Resumes a transfer its delegate paused.
    func resume(_ transfer: UpstreamTransfer) { send(.resume(transfer)) }

    /// Stops a transfer at once (the client left, or a timeout fired). The delegate hears nothing more.
    func cancel(_ transfer: UpstreamTransfer) {
        transfer.markCancelled()
        send(.cancel(transfer))
    }

    func shutdown() { send(.shutdown) }

    /// Queues a command; only the first command of an empty queue wakes the thread (it drains them all).
    private func send(_ command: Command) {
        let wasEmpty = commands.withLockedValue { queue -> Bool in
            defer { queue.append(command) }
            return queue.isEmpty
        }
        if wasEmpty { ReadinessSet.wake(wakeDescriptor) }
    }

    // MARK: - The curl thread

    private func run() {
        var ready: [ReadinessSet.Event] = []
        ready.reserveCapacity(256)
        var running: Int32 = 0
        while true {
            let woken = readiness.wait(timeoutMs: waitTimeoutMs(), into: &ready)
            for event in ready {
                var mask: Int32 = 0
                if event.readable { mask |= CURL_CSELECT_IN }
                if event.writable { mask |= CURL_CSELECT_OUT }
                if event.failed { mask |= CURL_CSELECT_ERR }
                curl_multi_socket_action(multi, event.fd, mask, &running)
            }
            if woken, !runCommands() { return }
            if let deadline = timerDeadline, deadline <= .now() {
                timerDeadline = nil
                curl_multi_socket_action(multi, Self.socketTimeout, 0, &running)
            }
            reportCompletions()
        }
    }

    private func waitTimeoutMs() -> Int32 {
        guard let timerDeadline else { return Int32(Self.maxWaitMs) }
        let nanoseconds = (timerDeadline - .now()).nanoseconds
        guard nanoseconds > 0 else { return 0 }
        return Int32(min((nanoseconds + 999_999) / 1_000_000, Self.maxWaitMs))
    }

    /// Runs the queued commands; false once told to shut down.
    private func runCommands() -> Bool {
        let pending = commands.withLockedValue { queue -> [Command] in
            defer { queue.removeAll(keepingCapacity: true) }
            return queue
        }
        for command in pending {
            switch command {
            case .start(let transfer): add(transfer)
            case .resume(let transfer):
                if let easy = transfer.easy { curl_easy_pause(easy, CURLPAUSE_CONT) }
            case .cancel(let transfer): remove(transfer)
            case .shutdown:
                for transfer in Array(live.values) { remove(transfer) }
                for easy in spareHandles { curl_easy_cleanup(easy) }
                spareHandles.removeAll()
                curl_multi_cleanup(multi)
                return false
            }
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
        guard let easy = spareHandles.popLast() ?? curl_easy_init() else {
            transfer.delegate.upstreamCompleted(error: UpstreamTransportError(kind: .other, detail: "curl_easy_init failed"))
            return
        }
        transfer.attach(to: easy)
        live[easy] = transfer
        curl_multi_add_handle(multi, easy)
    }

    private func remove(_ transfer: UpstreamTransfer) {
        guard let easy = transfer.easy else { return }
        curl_multi_remove_handle(multi, easy)
        live[easy] = nil
        transfer.detach()
        if spareHandles.count < Self.maxSpareHandles {
            curl_easy_reset(easy)
            spareHandles.append(easy)
        } else {
            curl_easy_cleanup(easy)
        }
    }

    private func finish(_ transfer: UpstreamTransfer, result: CURLcode) {
        let error: UpstreamTransportError?
        if result == CURLE_OK {
            error = nil
        } else {
            let detail = String(cString: curl_easy_strerror(result))
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

    // MARK: - curl's socket and timer callbacks (curl thread, from inside curl_multi_socket_action)

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
