import NIOConcurrencyHelpers
import NIOCore

/// Relays one upstream attempt's callbacks from inside curl to the exchange, through its event loop's `HandOffInbox`
/// (curl's callbacks may not call back into curl, which the exchange does), tagged with the attempt number so that
/// a late callback of an abandoned attempt is recognised and ignored.
final class AttemptDelegate: UpstreamTransferDelegate, Sendable {
    /// Client writability as curl's callbacks must see it to pause a transfer (backpressure).
    struct Flow {
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
    private let flow: NIOLockedValueBox<Flow>
    private let pending = NIOLockedValueBox(Pending())
    private let exchange: MessagesExchange

    init(attempt: Int, inbox: HandOffInbox, flow: NIOLockedValueBox<Flow>, exchange: MessagesExchange) {
        self.attempt = attempt
        self.inbox = inbox
        self.flow = flow
        self.exchange = exchange
    }

    func upstreamReceivedHead(status: Int, headers: [(name: String, value: String)]) {
        enqueue { $0.head = (status, headers) }
    }

    func upstreamReceived(_ bytes: UnsafeRawBufferPointer) -> Bool {
        let (accept, streaming) = flow.withLockedValue { flow -> (Bool, Bool) in
            guard flow.streaming, !flow.clientWritable else { return (true, flow.streaming) }
            flow.paused = true
            return (false, true)
        }
        guard accept else { return false }
        enqueue { pending in
            // A non-streamed answer arrives as several chunks of a few hundred bytes, all folded in memory: room for
            // a typical one at once saves the buffer growing (and copying) four times. A stream's buffer is recycled
            // batch after batch (`deliverPending`), so it keeps the size its batches need and no more.
            if !streaming, pending.bytes.capacity == 0 {
                pending.bytes.reserveCapacity(max(Self.foldedAnswerCapacity, bytes.count))
            }
            pending.bytes.append(contentsOf: bytes)
        }
        return true
    }

    /// Bytes reserved for a non-streamed answer's first chunk: a short answer's ~8 SSE events fit.
    private static let foldedAnswerCapacity = 4096

    func upstreamCompleted(error: UpstreamTransportError?) {
        enqueue { pending in
            pending.completed = true
            pending.failure = error
        }
    }

    /// Records a report and, unless a hand-off is already queued, posts this delegate to its event loop's inbox.
    private func enqueue(_ record: (inout Pending) -> Void) {
        let queueHandOff = pending.withLockedValue { pending -> Bool in
            record(&pending)
            defer { pending.handOffQueued = true }
            return !pending.handOffQueued
        }
        if queueHandOff { inbox.post(self) }
    }

    /// On the event loop: hands everything reported so far to the exchange, in the order it happened.
    func deliverPending() {
        var taken = pending.withLockedValue { pending -> Pending in
            defer { pending = Pending() }
            return pending
        }
        if let head = taken.head { exchange.upstreamHead(attempt: attempt, status: head.status, headers: head.headers) }
        if !taken.bytes.isEmpty {
            exchange.upstreamBody(attempt: attempt, bytes: taken.bytes)
            // The emptied buffer, capacity and all, takes the next bytes: a new one grew by doubling, copying as it
            // went, for every batch of a stream.
            taken.bytes.removeAll(keepingCapacity: true)
            pending.withLockedValue { pending in
                if pending.bytes.isEmpty { swap(&pending.bytes, &taken.bytes) }
            }
        }
        if taken.completed { exchange.upstreamCompleted(attempt: attempt, error: taken.failure) }
    }
}
