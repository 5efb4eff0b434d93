import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// The group's metrics delegate, used for its tick hook: after every tick of a loop, that loop's upstream
/// client is told, with whether the tick ran tasks, and looks for ready upstream sockets when it may have some
/// (`UpstreamClient.loopTickEnded`).
///
/// Holds the clients weakly: a client holds its loop, and the loop holds this hook.
final class UpstreamTickHook: NIOEventLoopMetricsDelegate {
    private struct Registration {
        weak var client: UpstreamClient?
    }

    private let clients = NIOLockedValueBox<[ObjectIdentifier: Registration]>([:])

    init() {}

    func register(_ client: UpstreamClient) {
        clients.withLockedValue { $0[ObjectIdentifier(client.loop)] = Registration(client: client) }
    }

    func processedTick(info: NIOEventLoopTickInfo) {
        clients.withLockedValue { $0[info.eventLoopID]?.client }?.loopTickEnded(ranTasks: info.numberOfTasks > 0)
    }
}
