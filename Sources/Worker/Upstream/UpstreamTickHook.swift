import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// The group's metrics delegate, used for its tick hook: after every tick of a loop, that loop's upstream
/// client looks for ready upstream sockets (`UpstreamClient.loopTickEnded`).
final class UpstreamTickHook: NIOEventLoopMetricsDelegate {
    private let clients = NIOLockedValueBox<[ObjectIdentifier: UpstreamClient]>([:])

    init() {}

    func register(_ client: UpstreamClient) {
        clients.withLockedValue { $0[ObjectIdentifier(client.loop)] = client }
    }

    func processedTick(info: NIOEventLoopTickInfo) {
        clients.withLockedValue { $0[info.eventLoopID] }?.loopTickEnded()
    }
}
