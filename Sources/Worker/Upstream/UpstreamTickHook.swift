import Glibc
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// The group's metrics delegate, used for its tick hook: after every tick of a loop, that loop's upstream
/// client is told, with whether the tick ran tasks, and looks for ready upstream sockets when it may have some
/// (`UpstreamClient.loopTickEnded`).
///
/// Every tick of every loop comes here, two or more per relayed chunk, on the loop's own thread: each loop thread
/// finds its client in a thread-specific slot, with no lock and no reference counting. The slot is set and
/// cleared on that thread (`register` and `unregister` are called on the client's loop), and the clients are
/// also held strongly, from `register` to `unregister` (the client's `shutdown`), so a slot never outlives its
/// client. Not weakly: a weak reference gives the client a side table, which sends every retain and release of
/// it down the runtime's slow path.
final class UpstreamTickHook: NIOEventLoopMetricsDelegate {
    /// The registered clients, one per event loop.
    private let clients = NIOLockedValueBox<[UpstreamClient]>([])
    /// Each loop thread's client, unretained.
    private let slot: pthread_key_t

    init() {
        var key = pthread_key_t()
        let status = pthread_key_create(&key, nil)
        precondition(status == 0, "pthread_key_create failed: \(status)")
        slot = key
    }

    deinit {
        pthread_key_delete(slot)
    }

    /// Called on the client's loop.
    func register(_ client: UpstreamClient) {
        client.loop.preconditionInEventLoop()
        let loop = ObjectIdentifier(client.loop)
        clients.withLockedValue { clients in
            clients.removeAll { ObjectIdentifier($0.loop) == loop }
            clients.append(client)
        }
        pthread_setspecific(slot, Unmanaged.passUnretained(client).toOpaque())
    }

    /// Called on the client's loop.
    func unregister(_ client: UpstreamClient) {
        client.loop.preconditionInEventLoop()
        if pthread_getspecific(slot) == Unmanaged.passUnretained(client).toOpaque() {
            pthread_setspecific(slot, nil)
        }
        clients.withLockedValue { clients in clients.removeAll { $0 === client } }
    }

    func processedTick(info: NIOEventLoopTickInfo) {
        guard let client = pthread_getspecific(slot) else { return }
        Unmanaged<UpstreamClient>.fromOpaque(client)._withUnsafeGuaranteedRef {
            $0.loopTickEnded(ranTasks: info.numberOfTasks > 0)
        }
    }
}
