import CCurl
import Foundation
import NIOConcurrencyHelpers

/// The worker's upstream HTTP client: one libcurl multi handle driven by one dedicated thread.
///
/// Event loops talk to it only through `start`, `resume` and `cancel`, which queue a command and wake the
/// thread with `curl_multi_wakeup` (the only curl call made off that thread). Easy handles are created, used
/// and freed on the curl thread alone.
final class UpstreamClient: Sendable {
    private enum Command {
        case start(UpstreamTransfer)
        case resume(UpstreamTransfer)
        case cancel(UpstreamTransfer)
        case shutdown
    }

    // The multi handle is touched only by the curl thread, except `curl_multi_wakeup`, which libcurl documents
    // as callable from any thread.
    private nonisolated(unsafe) let multi: UnsafeMutableRawPointer
    private let commands = NIOLockedValueBox<[Command]>([])

    /// Call once per process before any thread starts (libcurl's rule for `curl_global_init`).
    static func globalInit() {
        curl_global_init(Int(CURL_GLOBAL_DEFAULT))
    }

    init() {
        guard let multi = curl_multi_init() else { fatalError("curl_multi_init failed: out of memory") }
        self.multi = multi
        // Reuse up to this many idle connections to the upstream (per worker).
        _ = cg_multi_setopt_long(multi, CURLMOPT_MAXCONNECTS, 256)
        let thread = Thread { [self] in run() }
        thread.name = "curl-multi"
        thread.start()
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

    private func send(_ command: Command) {
        commands.withLockedValue { $0.append(command) }
        curl_multi_wakeup(multi)
    }

    // MARK: - The curl thread

    /// Transfers by easy handle; owned by the curl thread.
    private nonisolated(unsafe) var live: [UnsafeMutableRawPointer: UpstreamTransfer] = [:]

    private func run() {
        var running: Int32 = 0
        while true {
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
                    curl_multi_cleanup(multi)
                    return
                }
            }
            curl_multi_perform(multi, &running)
            var easy: UnsafeMutableRawPointer?
            var result = CURLE_OK
            while cg_multi_info_read_done(multi, &easy, &result) == 1 {
                guard let easy, let transfer = live[easy] else { continue }
                finish(transfer, result: result)
            }
            curl_multi_poll(multi, nil, 0, 1000, nil)
        }
    }

    private func add(_ transfer: UpstreamTransfer) {
        guard !transfer.isCancelled else { return }
        guard let easy = transfer.makeEasyHandle() else {
            transfer.delegate.upstreamCompleted(error: UpstreamTransportError(kind: .other, detail: "curl_easy_init failed"))
            return
        }
        live[easy] = transfer
        curl_multi_add_handle(multi, easy)
    }

    private func remove(_ transfer: UpstreamTransfer) {
        guard let easy = transfer.easy else { return }
        curl_multi_remove_handle(multi, easy)
        live[easy] = nil
        transfer.releaseEasyHandle()
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
}
