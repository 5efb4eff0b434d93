/// What curl has for one event loop: the attempt delegates with reports waiting. One pass of curl reads every
/// socket found ready, for many transfers, and often brings a response's head, body and end together; they reach
/// the exchanges together once the pass has ended (curl's callbacks may not call into curl, which an exchange does
/// when it cancels, retries or resumes). The client says when: at once after the passes the loop makes, and in a
/// task after one an exchange's own call made (see `UpstreamPassObserver`). Event-loop confined, as its client is.
// @unchecked: every member is touched on the client's event loop only.
final class HandOffInbox: UpstreamPassObserver, @unchecked Sendable {
    /// The client whose passes this inbox hears the end of (on the client's loop).
    let upstream: UpstreamClient
    private var waiting = RecycledList<AttemptDelegate>()

    init(upstream: UpstreamClient) {
        self.upstream = upstream
    }

    /// Called, from inside a curl pass, by a delegate that has just queued its first report since its last
    /// delivery. The first post since the loop last emptied the inbox asks to hear when the pass ends; posts
    /// made before the loop gets to the inbox join that delivery.
    func post(_ delegate: AttemptDelegate) {
        if waiting.isEmpty { upstream.notifyAtPassEnd(self) }
        waiting.append(delegate)
    }

    func upstreamPassEnded() {
        // The posts are taken out first: what the deliveries post in turn joins the next delivery.
        var delegates = waiting.takeAll()
        for delegate in delegates { delegate.deliverPending() }
        waiting.recycle(&delegates)
    }
}
