import NIOCore
import Shared

/// Something an event loop's clock looks at on each of its ticks.
protocol LoopClockSubscriber: AnyObject {
    /// Where the subscriber stands in its clock's list while registered, nil otherwise. Kept by the clock alone:
    /// it makes a removal a swap instead of a search.
    var loopClockSlot: Int? { get set }
    /// The clock ticked: deal with whatever fell due by `now` (a silence to fill, a deadline that passed).
    func loopClockTicked(now: NIODeadline)
}

/// The periodic checks of one event loop's connections and requests — the connections' request and idle timeouts,
/// the upstream timeouts of each request, the pings of each stream — from one timer.
///
/// Each of those had a timer of its own in NIO's heap of scheduled tasks, where a cancel searches the heap: with
/// 500 streams on a loop the two timers a stream cancelled cost it about 11,000 instructions, four times that at
/// 2,000 (BENCHMARKS.md, "Twenty-seventh round"). Registering here is an append and a removal is a swap. The clock
/// ticks every `tick` while anything is registered, and stops at the first tick that finds nothing; a check is
/// therefore done up to one tick after its time, which `tick(for:)` keeps to an eighth of each timeout and a
/// quarter of the ping interval.
// @unchecked: every member is touched on `loop` only (the subscribers registering run on it).
final class LoopClock: NIOScheduledCallbackHandler, @unchecked Sendable {
    private let loop: EventLoop
    private let tick: TimeAmount
    private var subscribers: [LoopClockSubscriber] = []
    private(set) var isTicking = false

    init(loop: EventLoop, tick: TimeAmount) {
        self.loop = loop
        self.tick = .nanoseconds(max(tick.nanoseconds, 1))
    }

    /// The tick that serves a worker's settings: a quarter of `PING_INTERVAL_SECONDS` (no silence lasts more than
    /// 1¼ intervals) and an eighth of each timeout the clock watches (none is noticed more than ⅛ late).
    static func tick(for config: GatewayConfig) -> TimeAmount {
        let seconds = [config.pingInterval / 4, config.upstreamFirstByteTimeout / 8, config.upstreamIdleTimeout / 8,
                       config.requestTimeout / 8, config.idleTimeout / 8].min()!
        return .fromSeconds(seconds)
    }

    var subscriberCount: Int { subscribers.count }

    /// Looks at `subscriber` on every tick until `remove`. Adding one already registered changes nothing.
    func add(_ subscriber: LoopClockSubscriber) {
        loop.preconditionInEventLoop()
        guard subscriber.loopClockSlot == nil else { return }
        subscriber.loopClockSlot = subscribers.count
        subscribers.append(subscriber)
        if !isTicking { scheduleTick() }
    }

    /// Stops looking at `subscriber`; one not registered is ignored.
    func remove(_ subscriber: LoopClockSubscriber) {
        guard let slot = subscriber.loopClockSlot else { return }
        subscriber.loopClockSlot = nil
        let last = subscribers.removeLast()
        guard slot < subscribers.count else { return }
        subscribers[slot] = last
        last.loopClockSlot = slot
    }

    func handleScheduledCallback(eventLoop: some EventLoop) {
        isTicking = false
        guard !subscribers.isEmpty else { return }
        let now = NIODeadline.now()
        // A copy: a subscriber's check may end it or another (a connection closed, a stream failed), which removes
        // them from the list. One removed meanwhile is skipped.
        for subscriber in subscribers where subscriber.loopClockSlot != nil {
            subscriber.loopClockTicked(now: now)
        }
        if !subscribers.isEmpty { scheduleTick() }
    }

    private func scheduleTick() {
        // Scheduling fails only on a loop that is shutting down, whose connections end with it.
        isTicking = (try? loop.scheduleCallback(in: tick, handler: self)) != nil
    }
}
