import NIOConcurrencyHelpers
import NIOCore

/// What curl has for one event loop: the attempt delegates with reports waiting. One pass of curl reads every
/// socket a wait found ready, for many transfers; their reports reach the event loop in one hop, so the loop is
/// woken once per pass, not once per transfer.
final class HandOffInbox: Sendable {
    private let loop: EventLoop
    private let waiting = NIOLockedValueBox<[AttemptDelegate]>([])

    init(loop: EventLoop) {
        self.loop = loop
    }

    /// Called by a delegate that has just queued its first report since its last delivery.
    func post(_ delegate: AttemptDelegate) {
        let isFirst = waiting.withLockedValue { waiting -> Bool in
            defer { waiting.append(delegate) }
            return waiting.isEmpty
        }
        guard isFirst else { return }
        loop.execute { [self] in
            let delegates = waiting.withLockedValue { waiting -> [AttemptDelegate] in
                defer { waiting.removeAll(keepingCapacity: true) }
                return waiting
            }
            for delegate in delegates { delegate.deliverPending() }
        }
    }
}
