import NIOConcurrencyHelpers
import NIOCore

/// Relays one upstream attempt's callbacks from the curl thread to the exchange's event loop, tagged with the
/// attempt number so that a late callback of an abandoned attempt is recognised and ignored.
final class AttemptDelegate: UpstreamTransferDelegate, Sendable {
    /// Client writability as the curl thread must see it to pause a transfer (backpressure).
    struct Flow {
        var clientWritable = true
        var paused = false
        /// Whether this exchange applies backpressure at all (a non-streamed response is folded in memory).
        var streaming = false
    }

    /// Bytes received on the curl thread and not yet handed to the event loop. Reads that arrive while a hand-off
    /// is already queued join it: one hop, one translation pass and one flush for all of them.
    private struct Pending {
        var bytes: [UInt8] = []
        var handOffQueued = false
    }

    private let attempt: Int
    private let loop: EventLoop
    private let flow: NIOLockedValueBox<Flow>
    private let pending = NIOLockedValueBox(Pending())
    private let exchange: MessagesExchange

    init(attempt: Int, loop: EventLoop, flow: NIOLockedValueBox<Flow>, exchange: MessagesExchange) {
        self.attempt = attempt
        self.loop = loop
        self.flow = flow
        self.exchange = exchange
    }

    func upstreamReceivedHead(status: Int, headers: [(name: String, value: String)]) {
        let exchange = self.exchange
        let attempt = self.attempt
        nonisolated(unsafe) let headers = headers
        loop.execute { exchange.upstreamHead(attempt: attempt, status: status, headers: headers) }
    }

    func upstreamReceived(_ bytes: UnsafeRawBufferPointer) -> Bool {
        let accept = flow.withLockedValue { flow -> Bool in
            guard flow.streaming, !flow.clientWritable else { return true }
            flow.paused = true
            return false
        }
        guard accept else { return false }
        let queueHandOff = pending.withLockedValue { pending -> Bool in
            pending.bytes.append(contentsOf: bytes)
            defer { pending.handOffQueued = true }
            return !pending.handOffQueued
        }
        if queueHandOff {
            let exchange = self.exchange
            let attempt = self.attempt
            loop.execute { [self] in
                let bytes = pending.withLockedValue { pending -> [UInt8] in
                    defer {
                        pending.bytes = []
                        pending.handOffQueued = false
                    }
                    return pending.bytes
                }
                exchange.upstreamBody(attempt: attempt, bytes: bytes)
            }
        }
        return true
    }

    func upstreamCompleted(error: UpstreamTransportError?) {
        let exchange = self.exchange
        let attempt = self.attempt
        loop.execute { exchange.upstreamCompleted(attempt: attempt, error: error) }
    }
}
