import NIOCore
import NIOHTTP1

/// One thing the connection handler does while answering a request.
enum ResponseStep {
    case head(HTTPResponseHead)
    /// Body bytes: an SSE event, a slice of one, or a whole JSON body. A `paced` event takes the
    /// next slot of the schedule; an unpaced one (`[DONE]`) goes out right after its predecessor.
    case event(ByteBuffer, paced: Bool = true)
    /// Terminate the response normally (zero-length chunk when chunked).
    case end
    /// Close the TCP connection mid-response; `reset` sends RST instead of FIN.
    case drop(reset: Bool)
    /// Stop here and keep the connection open until the client leaves.
    case hang
}

/// A response as a timed sequence of steps, consumed one at a time by the connection handler.
///
/// Timing is anchored on the moment the request was handled: the head is due at `start + delay`
/// and the k-th event at `start + delay + k * interval`, so a late wake-up is made up on the
/// next step instead of accumulating drift.
struct ResponseScript {
    /// A fixed step, or a run of `tok{i} ` chunks rendered only when due (the `paced` hot path).
    enum Segment {
        case step(ResponseStep)
        case tokens(count: Int, writer: ChunkWriter, place: ChunkWriter.TokenPlace)
    }

    /// What the handler should do next.
    enum Next {
        case step(ResponseStep)
        case wait(until: NIODeadline)
        case finished
    }

    private var segments: [Segment]
    private var segmentIndex = 0
    private var tokenIndex = 0
    private var eventIndex: Int64 = 0
    private var start = NIODeadline.uptimeNanoseconds(0)
    private let delay: TimeAmount
    private let interval: TimeAmount
    /// Flush after every event (streams) rather than once per burst (plain JSON bodies).
    let flushEachEvent: Bool
    /// When the writer has fallen behind a paced schedule, send the overdue events in one write.
    ///
    /// Hundreds of streams at 0.33 ms ask for ~10^6 writes/s, more than loopback TCP on two cores
    /// can take; coalescing what is already late keeps the token rate (as a real network would)
    /// instead of letting the lag grow. An on-time event is still flushed on its own.
    let coalesceLateEvents: Bool

    init(
        segments: [Segment],
        delay: TimeAmount = .zero,
        interval: TimeAmount = .zero,
        flushEachEvent: Bool,
        coalesceLateEvents: Bool = false
    ) {
        self.segments = segments
        self.delay = delay
        self.interval = interval
        self.flushEachEvent = flushEachEvent
        self.coalesceLateEvents = coalesceLateEvents && interval > .zero
        skipExhaustedRuns()
    }

    /// Anchors the schedule; called once when the response starts.
    mutating func begin(at now: NIODeadline) {
        start = now
    }

    /// When the next step is due; nil once the script is exhausted.
    var nextDue: NIODeadline? {
        guard segmentIndex < segments.count else { return nil }
        let base = start + delay
        switch segments[segmentIndex] {
        case .step(.event(_, paced: true)), .tokens:
            return base + .nanoseconds(interval.nanoseconds * eventIndex)
        case .step:
            return base
        }
    }

    /// The next step if it is due at `now`, otherwise when to come back.
    mutating func next(now: NIODeadline) -> Next {
        guard let due = nextDue else { return .finished }
        if due > now { return .wait(until: due) }
        let step: ResponseStep
        switch segments[segmentIndex] {
        case .step(let fixed):
            step = fixed
            segmentIndex += 1
            if case .event(_, paced: true) = fixed { eventIndex += 1 }
        case .tokens(_, let writer, let place):
            step = .event(writer.token(tokenIndex, in: place))
            tokenIndex += 1
            eventIndex += 1
        }
        skipExhaustedRuns()
        return .step(step)
    }

    private mutating func skipExhaustedRuns() {
        while segmentIndex < segments.count, case .tokens(let count, _, _) = segments[segmentIndex],
              tokenIndex >= count {
            segmentIndex += 1
            tokenIndex = 0
        }
    }
}

/// Collects segments while a scenario is rendered.
struct ScriptBuilder {
    private(set) var segments: [Segment] = []
    typealias Segment = ResponseScript.Segment

    mutating func head(_ head: HTTPResponseHead) { segments.append(.step(.head(head))) }
    mutating func event(_ buffer: ByteBuffer, paced: Bool = true) {
        segments.append(.step(.event(buffer, paced: paced)))
    }
    mutating func tokens(_ count: Int, writer: ChunkWriter, place: ChunkWriter.TokenPlace = .content) {
        segments.append(.tokens(count: count, writer: writer, place: place))
    }
    mutating func end() { segments.append(.step(.end)) }
    mutating func drop(reset: Bool) { segments.append(.step(.drop(reset: reset))) }
    mutating func hang() { segments.append(.step(.hang)) }
}
