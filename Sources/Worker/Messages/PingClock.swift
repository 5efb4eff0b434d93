import NIOCore

/// A stream the ping clock looks after.
protocol PingSubscriber: AnyObject {
    /// When the client was last sent anything.
    var lastClientWrite: NIODeadline { get }
    /// Sends the client `event: ping`.
    func sendPing()
}

/// The SSE pings of one event loop's streams, from one timer.
///
/// A stream that has sent its client nothing for `PING_INTERVAL_SECONDS` gets `event: ping`: clients, and the
/// proxies between them, take a long-silent stream for a dead one. The clock ticks every quarter of the interval
/// while streams are registered and pings each one that has been silent for the interval, so no silence lasts more
/// than 1¼ intervals. It stops at the first tick that finds no stream. A timer of each stream's own cost the stream
/// about 15,000 instructions, scheduling it and cancelling it in NIO's heap of scheduled tasks (BENCHMARKS.md,
/// "Twenty-sixth round"); registering here is a dictionary insert and a remove.
// @unchecked: every member is touched on `loop` only (the streams registering run on it).
final class PingClock: NIOScheduledCallbackHandler, @unchecked Sendable {
    private let loop: EventLoop
    private let interval: TimeAmount
    private let tick: TimeAmount
    private var subscribers: [ObjectIdentifier: PingSubscriber] = [:]
    private var ticking = false

    init(loop: EventLoop, interval: TimeAmount) {
        self.loop = loop
        self.interval = interval
        tick = .nanoseconds(max(interval.nanoseconds / 4, 1))
    }

    /// Starts pinging `subscriber` when it falls silent, until `remove`.
    func add(_ subscriber: PingSubscriber) {
        loop.preconditionInEventLoop()
        subscribers[ObjectIdentifier(subscriber)] = subscriber
        if !ticking { scheduleTick() }
    }

    func remove(_ subscriber: PingSubscriber) {
        subscribers.removeValue(forKey: ObjectIdentifier(subscriber))
    }

    func handleScheduledCallback(eventLoop: some EventLoop) {
        ticking = false
        guard !subscribers.isEmpty else { return }
        let now = NIODeadline.now()
        // A copy: a ping that fails to reach its client ends that stream, which removes it from the dictionary.
        for subscriber in Array(subscribers.values) where now - subscriber.lastClientWrite >= interval {
            subscriber.sendPing()
        }
        scheduleTick()
    }

    private func scheduleTick() {
        // Scheduling fails only on a loop that is shutting down, whose streams end with it.
        ticking = (try? loop.scheduleCallback(in: tick, handler: self)) != nil
    }
}
