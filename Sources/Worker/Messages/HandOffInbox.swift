import NIOConcurrencyHelpers

/// What curl has for one event loop: the attempt delegates with reports waiting. One pass of curl reads every
/// socket found ready, for many transfers, and often brings a response's head, body and end together; they reach
/// the exchanges together once the pass has ended (curl's callbacks may not call into curl, which an exchange does
/// when it cancels, retries or resumes). The client says when: at once after the passes the loop makes, and in a
/// task after one an exchange's own call made (see `UpstreamPassObserver`).
final class HandOffInbox: UpstreamPassObserver {
    /// The client whose passes this inbox hears the end of (on the client's loop).
    let upstream: UpstreamClient
    private let waiting = NIOLockedValueBox<[AttemptDelegate]>([])

    init(upstream: UpstreamClient) {
        self.upstream = upstream
    }

    /// Called, from inside a curl pass, by a delegate that has just queued its first report since its last
    /// delivery. The first post since the loop last emptied the inbox asks to hear when the pass ends; posts
    /// made before the loop gets to the inbox join that delivery.
    func post(_ delegate: AttemptDelegate) {
        let isFirst = waiting.withLockedValue { waiting -> Bool in
            defer { waiting.append(delegate) }
            return waiting.isEmpty
        }
        if isFirst { upstream.notifyAtPassEnd(self) }
    }

    func upstreamPassEnded() {
        let delegates = waiting.withLockedValue { waiting -> [AttemptDelegate] in
            defer { waiting.removeAll(keepingCapacity: true) }
            return waiting
        }
        for delegate in delegates { delegate.deliverPending() }
    }
}
