import NIOConcurrencyHelpers
import NIOCore

/// One event loop's rate-limit leases (`RateLimitLease`): which buckets hold one, how much each bucket is asked on
/// this loop (the demand that sizes the next lease), and the token corrections waiting to travel with a bucket's
/// next call to its keeper (Redis's acquire script, or the master without Redis).
///
/// A bucket asked at least twice within a lease's lifetime gets a lease as large as that demand (at most
/// `maxRequests`, and at most what the keeper's share rule leaves); a bucket asked less often has no lease, and its
/// requests are decided by the keeper one by one as before. A lease ends when it is used up (the next request that
/// finds it empty goes to the keeper, whose call gives back what is left and asks for the next), when its lifetime is
/// over (the sweep, run every lifetime while anything is held, gives back its unused part), or when the worker
/// drains (`handBack`).
///
/// `@unchecked Sendable`: after `init`, every member is touched on `loop` only.
public final class RateLimitLeaseBook: @unchecked Sendable {
    public typealias Terms = RateLimitLease.Terms
    public typealias Grant = RateLimitLease.Grant

    private struct Entry {
        var limits: RateLimits
        var lease: RateLimitLease?
        /// A call asking for a lease is on its way.
        var pending = false
        var windowStart: Int64
        var asked = 0
        var tokensAsked = 0
        var askedBefore = 0
        var tokensAskedBefore = 0
        var tokenDelta = 0

        /// Nothing held, nothing owed, not asked for two windows: nothing worth keeping.
        var isIdle: Bool { lease == nil && !pending && tokenDelta == 0 && asked == 0 && askedBefore == 0 }
    }

    public let loop: EventLoop
    /// The largest lease asked for, in requests.
    public let maxRequests: Int
    /// Sends a bucket's give-back (terms that ask for nothing) on its own.
    private let release: (String, RateLimits, Terms) -> Void
    private var entries: [String: Entry] = [:]
    /// Requests admitted from leases so far; read from any thread (the worker's metrics).
    private let admitted = NIOLockedValueBox(0)
    private var sweepTask: RepeatedTask?

    public init(loop: EventLoop, maxRequests: Int, release: @escaping (String, RateLimits, Terms) -> Void) {
        self.loop = loop
        self.maxRequests = maxRequests
        self.release = release
    }

    /// Requests admitted from this loop's leases so far.
    public var admittedFromLeases: Int { admitted.withLockedValue { $0 } }

    /// Buckets currently followed.
    public var bucketCount: Int { entries.count }

    /// The lease held for `bucket`, if any.
    public func lease(of bucket: String) -> RateLimitLease? { entries[bucket]?.lease }

    /// Counts the ask as the bucket's demand and admits it from the bucket's lease when the lease can; nil when the
    /// request must go to the keeper.
    public func admit(bucket: String, limits: RateLimits, tokens: Int, now: Int64) -> RateLimitDecision? {
        let followed = entries.count
        // One lookup, which adds the bucket when it is new.
        let decision = Self.count(&entries[bucket, default: Entry(limits: limits, windowStart: now)], limits: limits,
                                  tokens: tokens, now: now)
        if entries.count != followed { startSweeping() }
        if decision != nil { admitted.withLockedValue { $0 += 1 } }
        return decision
    }

    /// What the bucket's next call to the keeper (for requests its lease did not admit) gives back and asks for. A lease
    /// that is used up or over is given back; one still good is kept (the requests arrived before it did), and no
    /// other is asked for meanwhile. A lease asked for is marked pending until `granted`.
    public func terms(bucket: String, limits: RateLimits, now: Int64) -> Terms {
        modify(bucket) { entry in
            var terms = Terms()
            if let lease = entry.lease {
                let tokensLimited = lease.limits.tokensPerMinute > 0
                let averageCost = Self.averageCost(entry)
                let usable = lease.limits == limits && !lease.hasExpired(at: now) && lease.requestsLeft > 0
                    && (!tokensLimited || lease.tokensLeft >= averageCost)
                if usable { return terms }
                entry.lease = nil
                let back = Terms(returnedRequests: lease.requestsLeft, tokenDelta: entry.tokenDelta - lease.tokensLeft)
                entry.tokenDelta = 0
                if lease.limits == limits {
                    terms = back
                } else if back.givesBack {
                    // Given back in the units it was charged in.
                    release(bucket, lease.limits, back)
                }
            }
            entry.limits = limits
            terms.tokenDelta += entry.tokenDelta
            entry.tokenDelta = 0
            guard !entry.pending else { return terms }
            let demand = max(entry.asked, entry.askedBefore)
            guard demand >= 2 else { return terms }
            terms.wantRequests = min(maxRequests, demand)
            if limits.tokensPerMinute > 0 {
                terms.wantTokens = terms.wantRequests * max(1, Self.averageCost(entry))
            }
            entry.pending = true
            return terms
        } ?? Terms()
    }

    /// Installs the lease a call to the keeper granted; with no grant (none could be given, or the call failed) the
    /// bucket may ask again.
    public func granted(bucket: String, limits: RateLimits, _ grant: Grant?, now: Int64) {
        modify(bucket) { entry in
            entry.pending = false
            guard let grant, grant.requests > 0 else { return }
            if let old = entry.lease {
                release(bucket, old.limits, Terms(returnedRequests: old.requestsLeft, tokenDelta: -old.tokensLeft))
            }
            entry.lease = RateLimitLease(
                limits: limits, requests: grant.requests, tokens: grant.tokens, requestTATAfterGrant: grant.requestTAT,
                tokenTATAfterGrant: grant.tokenTAT, grantedAt: now)
        }
    }

    /// Keeps a token correction for the bucket's next call to the keeper; false when the bucket is not followed here (or
    /// under other limits), and the correction must be sent on its own.
    public func correct(bucket: String, limits: RateLimits, deltaTokens: Int) -> Bool {
        modify(bucket) { entry in
            guard entry.limits == limits else { return false }
            entry.tokenDelta += deltaTokens
            return true
        } ?? false
    }

    /// Gives back the leases whose lifetime is over and the corrections of buckets without a lease, and forgets
    /// buckets idle for two lifetimes.
    public func sweep(now: Int64) {
        for bucket in Array(entries.keys) {
            guard var entry = entries[bucket] else { continue }
            Self.roll(&entry, now: now)
            if let lease = entry.lease, lease.hasExpired(at: now) {
                let back = Terms(returnedRequests: lease.requestsLeft, tokenDelta: entry.tokenDelta - lease.tokensLeft)
                entry.lease = nil
                entry.tokenDelta = 0
                if back.givesBack { release(bucket, lease.limits, back) }
            } else if entry.lease == nil, !entry.pending, entry.tokenDelta != 0 {
                release(bucket, entry.limits, Terms(tokenDelta: entry.tokenDelta))
                entry.tokenDelta = 0
            }
            entries[bucket] = entry.isIdle ? nil : entry
        }
        if entries.isEmpty {
            sweepTask?.cancel()
            sweepTask = nil
        }
    }

    /// Ends every lease of the book and sends what it holds (a draining worker); callable from any thread, the
    /// future completes on `loop`.
    public func handBack(completingOn loop: EventLoop) -> EventLoopFuture<Void> {
        self.loop.submit { self.sweep(now: .max) }.hop(to: loop)
    }

    // MARK: - Internal

    private func modify<Result>(_ bucket: String, _ body: (inout Entry) -> Result) -> Result? {
        guard let index = entries.index(forKey: bucket) else { return nil }
        return body(&entries.values[index])
    }

    /// Counts an ask in the entry's demand and admits it from the entry's lease when the lease can.
    private static func count(_ entry: inout Entry, limits: RateLimits, tokens: Int, now: Int64) -> RateLimitDecision? {
        roll(&entry, now: now)
        entry.asked += 1
        entry.tokensAsked += max(0, tokens)
        return entry.lease?.admit(limits: limits, tokens: tokens, now: now)
    }

    private func startSweeping() {
        guard sweepTask == nil else { return }
        let period = TimeAmount.microseconds(RateLimitLease.lifetimeMicroseconds)
        sweepTask = loop.scheduleRepeatedTask(initialDelay: period, delay: period) { [weak self] _ in
            self?.sweep(now: LocalRateLimiter.monotonicMicroseconds())
        }
    }

    /// Starts a new demand window when a lifetime has passed since the current one began.
    private static func roll(_ entry: inout Entry, now: Int64) {
        let elapsed = now - entry.windowStart
        guard elapsed >= RateLimitLease.lifetimeMicroseconds else { return }
        let contiguous = elapsed < 2 * RateLimitLease.lifetimeMicroseconds
        entry.askedBefore = contiguous ? entry.asked : 0
        entry.tokensAskedBefore = contiguous ? entry.tokensAsked : 0
        entry.asked = 0
        entry.tokensAsked = 0
        entry.windowStart = now
    }

    /// The bucket's tokens per request over its last two windows, rounded up.
    private static func averageCost(_ entry: Entry) -> Int {
        let asked = entry.asked + entry.askedBefore
        guard asked > 0 else { return 0 }
        return (entry.tokensAsked + entry.tokensAskedBefore + asked - 1) / asked
    }

    deinit { sweepTask?.cancel() }
}

/// A process's lease books, one per event loop, as both limiters that lease keep them.
extension Array where Element == RateLimitLeaseBook {
    /// The book of the loop the caller runs on, if any.
    public var ofCurrentLoop: RateLimitLeaseBook? { first { $0.loop.inEventLoop } }

    /// Requests admitted from all the books' leases so far.
    public var admittedFromLeases: Int { reduce(0) { $0 + $1.admittedFromLeases } }

    /// Ends every lease of every book (`handBack`); the future completes on `loop` once all have sent theirs.
    public func handBack(completingOn loop: EventLoop) -> EventLoopFuture<Void> {
        .andAllComplete(map { $0.handBack(completingOn: loop) }, on: loop)
    }
}
