import NIOCore

/// Wakes the responses of one event loop that wait for a time — a paced stream's next event, or a response's next
/// turn after a burst of writes — through one timer, and never twice without the loop polling its sockets in between.
///
/// NIO runs every task that is due before it polls its sockets again (`SelectableEventLoop.runOneLoopTick` goes on
/// while any is). With a timer of its own for each stream, a loop that had fallen behind its streams' schedule (a
/// hundred streams at Cerebras pacing on one core) always found one due, and read no socket until the streams under
/// way had ended: requests that arrived meanwhile waited, unread, for a whole stream (BENCHMARKS.md, "Fifty-third
/// round"). Here one wake-up runs every response that is due, and the next is set no sooner than `breather` after it
/// ends, which NIO's next look at its tasks finds not yet due: the sockets are polled first.
///
/// Used on its loop only.
final class LoopPacer {
    /// The least time from the end of one wake-up to the start of the next.
    static let breather = TimeAmount.microseconds(20)

    private let loop: EventLoop
    private var waiting = WaiterHeap()
    private var armed: (callback: NIOScheduledCallback, deadline: NIODeadline)?
    private var earliestNextWake = NIODeadline.uptimeNanoseconds(0)
    /// Inside a wake-up: handlers that wait again are armed for once it has ended.
    private var waking = false
    private var lastTicket: UInt64 = 0

    init(loop: EventLoop) {
        self.loop = loop
    }

    /// Calls `handler.wake(ticket:)` at `deadline` or soon after. The ticket returned names this call: a handler
    /// that has asked again since, or no longer waits, ignores it.
    func wake(_ handler: PacedHandler, at deadline: NIODeadline) -> UInt64 {
        lastTicket &+= 1
        waiting.push(Waiter(deadline: deadline, ticket: lastTicket, handler: handler))
        arm()
        return lastTicket
    }

    private func arm() {
        guard !waking, let first = waiting.first else { return }
        let deadline = max(first.deadline, earliestNextWake)
        if let armed, armed.deadline <= deadline { return }
        armed?.callback.cancel()
        armed = (try? loop.assumeIsolated().scheduleCallback(at: deadline, handler: self)).map { ($0, deadline) }
    }
}

extension LoopPacer: NIOScheduledCallbackHandler {
    func handleScheduledCallback(eventLoop: some EventLoop) {
        armed = nil
        let now = NIODeadline.now()
        // Taken out first: a handler woken here may wait again, and must not be woken twice in one go.
        var due: [Waiter] = []
        while let first = waiting.first, first.deadline <= now { due.append(waiting.popFirst()) }
        waking = true
        for waiter in due { waiter.handler.wake(ticket: waiter.ticket) }
        waking = false
        earliestNextWake = .now() + Self.breather
        arm()
    }
}

@available(*, unavailable)
extension LoopPacer: Sendable {}

/// What a `LoopPacer` wakes (a connection's handler).
protocol PacedHandler: AnyObject {
    func wake(ticket: UInt64)
}

/// A handler waiting for its time.
struct Waiter {
    let deadline: NIODeadline
    let ticket: UInt64
    let handler: PacedHandler
}

/// The waiters, earliest deadline first: a binary heap.
struct WaiterHeap {
    private var items: [Waiter] = []

    var first: Waiter? { items.first }

    mutating func push(_ waiter: Waiter) {
        items.append(waiter)
        var child = items.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard items[child].deadline < items[parent].deadline else { break }
            items.swapAt(child, parent)
            child = parent
        }
    }

    /// Removes and returns the earliest; the heap must not be empty.
    mutating func popFirst() -> Waiter {
        items.swapAt(0, items.count - 1)
        let earliest = items.removeLast()
        var parent = 0
        while true {
            let left = 2 * parent + 1
            guard left < items.count else { break }
            let right = left + 1
            let child = right < items.count && items[right].deadline < items[left].deadline ? right : left
            guard items[child].deadline < items[parent].deadline else { break }
            items.swapAt(child, parent)
            parent = child
        }
        return earliest
    }
}
