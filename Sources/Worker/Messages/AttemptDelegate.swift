import NIOCore

/// Relays one upstream attempt's callbacks from inside curl to the exchange, through its event loop's `HandOffInbox`
/// (curl's callbacks may not call back into curl, which the exchange does), tagged with the attempt number so that
/// a late callback of an abandoned attempt is recognised and ignored.
///
/// Event-loop confined, without locks: curl runs on the loop of the exchange (`UpstreamClient`), so its callbacks,
/// the hand-off and the exchange all run on that one thread.
// @unchecked: every member is touched on the exchange's event loop only.
final class AttemptDelegate: UpstreamTransferDelegate, @unchecked Sendable {
    /// Client writability as curl's callbacks must see it to pause a transfer (backpressure). One per exchange,
    /// shared by its attempts' delegates.
    final class Flow {
        var clientWritable = true
        var paused = false
        /// Whether this exchange applies backpressure at all (a non-streamed response is folded in memory).
        var streaming = false
    }

    /// What curl reported and the event loop has not taken yet, in the order it happened. Whatever
    /// arrives while a hand-off is queued joins it: a small answer (head, body and end in one curl pass) costs one
    /// hop, one translation pass and one flush instead of three.
    private struct Pending {
        var head: (status: Int, headers: [(name: String, value: String)])?
        var bytes: [UInt8] = []
        var completed = false
        /// With `completed`: why the transfer failed, nil when it succeeded.
        var failure: UpstreamTransportError?
        var handOffQueued = false
    }

    private let attempt: Int
    private let inbox: HandOffInbox
    private let flow: Flow
    private var pending = Pending()
    private let exchange: MessagesExchange

    init(attempt: Int, inbox: HandOffInbox, flow: Flow, exchange: MessagesExchange) {
        self.attempt = attempt
        self.inbox = inbox
        self.flow = flow
        self.exchange = exchange
    }

    func upstreamReceivedHead(status: Int, headers: [(name: String, value: String)]) {
        pending.head = (status, headers)
        queueHandOff()
    }

    func upstreamReceived(_ bytes: UnsafeRawBufferPointer) -> Bool {
        if flow.streaming, !flow.clientWritable {
            flow.paused = true
            return false
        }
        // A non-streamed answer arrives as several chunks of a few hundred bytes, all folded in memory: room for a
        // typical one at once saves the buffer growing (and copying) four times. A stream's buffer is recycled batch
        // after batch (`deliverPending`), so it keeps the size its batches need and no more.
        if !flow.streaming, pending.bytes.capacity == 0 {
            pending.bytes.reserveCapacity(max(Self.foldedAnswerCapacity, bytes.count))
        }
        pending.bytes.append(contentsOf: bytes)
        queueHandOff()
        return true
    }

    /// Bytes reserved for a non-streamed answer's first chunk: a short answer's ~8 SSE events fit.
    private static let foldedAnswerCapacity = 4096

    func upstreamCompleted(error: UpstreamTransportError?) {
        pending.completed = true
        pending.failure = error
        queueHandOff()
    }

    /// After a report is recorded: unless a hand-off is already queued, posts this delegate to its loop's inbox.
    private func queueHandOff() {
        guard !pending.handOffQueued else { return }
        pending.handOffQueued = true
        inbox.post(self)
    }

    /// After the curl pass: hands everything reported so far to the exchange, in the order it happened.
    func deliverPending() {
        var taken = Pending()
        swap(&taken, &pending)
        if let head = taken.head { exchange.upstreamHead(attempt: attempt, status: head.status, headers: head.headers) }
        if !taken.bytes.isEmpty {
            exchange.upstreamBody(attempt: attempt, bytes: taken.bytes)
            // The emptied buffer, capacity and all, takes the next bytes: a new one grew by doubling, copying as it
            // went, for every batch of a stream.
            taken.bytes.removeAll(keepingCapacity: true)
            if pending.bytes.isEmpty { swap(&pending.bytes, &taken.bytes) }
        }
        if taken.completed { exchange.upstreamCompleted(attempt: attempt, error: taken.failure) }
    }
}
