import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// The group's metrics delegate, used for its tick hook: after every tick of a loop, that loop's upstream
/// client is told, with whether the tick ran tasks, and looks for ready upstream sockets when it may have some
/// (`UpstreamClient.loopTickEnded`).
///
/// Holds the clients strongly from `register` to `unregister` (the client's `shutdown`). Not weakly: a weak
/// reference gives the client a side table, which sends every retain and release of it, several per tick, down
/// the runtime's slow path.
final class UpstreamTickHook: NIOEventLoopMetricsDelegate {
    private struct Registration {
        let loop: ObjectIdentifier
        let client: UpstreamClient
    }

    /// One per event loop, a handful: searched in order, which costs less per tick than hashing the loop's
    /// identifier for a dictionary (every tick of every loop comes here, two or more per relayed chunk).
    private let clients = NIOLockedValueBox<[Registration]>([])

    init() {}

    func register(_ client: UpstreamClient) {
        let loop = ObjectIdentifier(client.loop)
        clients.withLockedValue { clients in
            clients.removeAll { $0.loop == loop }
            clients.append(Registration(loop: loop, client: client))
        }
    }

    func unregister(_ client: UpstreamClient) {
        clients.withLockedValue { clients in clients.removeAll { $0.client === client } }
    }

    func processedTick(info: NIOEventLoopTickInfo) {
        clients.withLockedValue { clients in clients.first { $0.loop == info.eventLoopID }?.client }?
            .loopTickEnded(ranTasks: info.numberOfTasks > 0)
    }
}
