import NIOCore

/// Gathers the acquires asked on one event loop during one round of its work and sends them, once the round is
/// over, as one pipeline: one call of the acquire script per bucket, then each acquire's companion command (the
/// admission's cache lookup), one write to Redis and one completion for all.
///
/// The script decides a bucket's requests in the order they were asked, exactly as separate calls at the same
/// instant would, so every request still gets its own decision and headers; redis-server pays the script's fixed
/// cost once per bucket and round instead of once per request (see BENCHMARKS.md, "Thirteenth round"). Nothing
/// waits for more work: the round's requests are already read.
///
/// `@unchecked Sendable`: after `init`, every member is touched on `loop` only.
final class RedisAcquireCoalescer: @unchecked Sendable {
    /// One request's acquire: its token cost, the command sent along with it, and who is told the outcome.
    struct Waiter {
        let tokens: Int
        let companion: [RESPArgument]?
        let completion: RedisRateLimiter.AcquireCompletion
    }

    /// One bucket's acquires of a round, sent as one script call.
    struct Group {
        let bucket: String
        let limits: RateLimits
        var waiters: [Waiter]
    }

    /// A command of the round sent for a request its loop's lease admitted (the admission's cache lookup), with
    /// no script call of its own.
    struct LooseCompanion {
        let command: [RESPArgument]
        let completion: @Sendable (Result<RedisReply, RedisError>) -> Void
    }

    /// What one round sends: its groups' script calls, their companions, then the loose companions.
    struct Round {
        var groups: [Group] = []
        var companions: [LooseCompanion] = []

        var isEmpty: Bool { groups.isEmpty && companions.isEmpty }
    }

    /// Bounds one script call (its arguments and its run inside redis-server, which serves no one else meanwhile).
    static let maxGroupSize = 256

    let loop: EventLoop
    private let send: (Round) -> Void
    /// This round's groups, in the order their buckets were first asked (a round rarely holds more than a few
    /// buckets, so finding one is a short scan), and its loose companions.
    private var round = Round()
    private var flushScheduled = false

    /// `send` gets each round.
    init(loop: EventLoop, send: @escaping (Round) -> Void) {
        self.loop = loop
        self.send = send
    }

    /// Queues one acquire for the end of the current round; call on `loop`.
    func add(bucket: String, limits: RateLimits, waiter: Waiter) {
        loop.assertInEventLoop()
        // The last group of the bucket takes it unless full (or asked with other limits, after a reload).
        if let index = round.groups.lastIndex(where: { $0.bucket == bucket }), round.groups[index].limits == limits,
            round.groups[index].waiters.count < Self.maxGroupSize
        {
            round.groups[index].waiters.append(waiter)
        } else {
            round.groups.append(Group(bucket: bucket, limits: limits, waiters: [waiter]))
        }
        scheduleFlush()
    }

    /// Queues a command with no script call for the end of the current round; call on `loop`.
    func add(_ companion: LooseCompanion) {
        loop.assertInEventLoop()
        round.companions.append(companion)
        scheduleFlush()
    }

    private func scheduleFlush() {
        guard !flushScheduled else { return }
        flushScheduled = true
        // A task runs after the loop has handled its round of ready sockets.
        loop.execute { [self] in flush() }
    }

    private func flush() {
        flushScheduled = false
        // Swapped out first: a completion run from `send` (Redis down fails at once) may already ask again.
        var sent = Round()
        swap(&sent, &round)
        send(sent)
        if round.isEmpty {
            sent.groups.removeAll(keepingCapacity: true)
            sent.companions.removeAll(keepingCapacity: true)
            round = sent
        }
    }
}
