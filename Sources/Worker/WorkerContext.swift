import Logging
import NIOConcurrencyHelpers
import NIOCore
import Shared

/// Everything a worker's connections share. Immutable after boot except the counters behind locks.
final class WorkerContext: Sendable {
    let config: GatewayConfig
    let keyPool: UpstreamKeyPool
    let authenticator: Authenticator
    let metrics: WorkerMetrics
    let logger: Logger
    let control: ControlLink?
    let controlPlane: ControlPlane
    /// The tool lists (`TOOL_MEMO_ENTRIES`), system prompts (`SYSTEM_MEMO_ENTRIES`) and conversations
    /// (`CONVERSATION_MEMO_MB`) of recent requests, decoded and translated.
    let memos: TranslationMemos
    /// Where every upstream request goes: the chat-completions URL of `CEREBRAS_BASE_URL`.
    let upstreamURL: UpstreamURL
    /// What each event loop of the worker has of its own, by the loop's identity.
    private struct LoopServices {
        /// The inbox through which curl's reports reach the loop, with the upstream client it serves.
        let inbox: HandOffInbox
        /// The clock that looks after the loop's connection timeouts, upstream timeouts and pings.
        let clock: LoopClock
    }
    private let loops: [ObjectIdentifier: LoopServices]
    /// Upstream requests in flight, against `MAX_CONCURRENT_UPSTREAM`, and how many slots were ever taken.
    private let upstreamSlots = NIOLockedValueBox(UpstreamActivity(inFlight: 0, started: 0))
    /// Requests being served (any route), reported in heartbeats and awaited when draining.
    private let active = NIOLockedValueBox(0)
    private let draining = NIOLockedValueBox(false)

    /// - Parameter upstreams: one client per event loop of the worker's group, each driven by its loop.
    init(config: GatewayConfig, upstreams: [UpstreamClient], metrics: WorkerMetrics, logger: Logger,
         control: ControlLink?, controlPlane: ControlPlane) {
        self.config = config
        keyPool = UpstreamKeyPool(keys: config.upstreamKeys)
        authenticator = Authenticator(config: config)
        self.metrics = metrics
        self.logger = logger
        self.control = control
        self.controlPlane = controlPlane
        memos = TranslationMemos(tools: ToolListMemo(capacity: config.toolMemoEntries),
                                 systems: SystemPromptMemo(capacity: config.systemMemoEntries),
                                 conversations: ConversationMemo(budgetBytes: config.conversationMemoBytes))
        upstreamURL = UpstreamURL(config.upstreamBaseURL + "/chat/completions")
        let tick = LoopClock.tick(for: config)
        loops = Dictionary(uniqueKeysWithValues: upstreams.map {
            (ObjectIdentifier($0.loop), LoopServices(inbox: HandOffInbox(upstream: $0),
                                                     clock: LoopClock(loop: $0.loop, tick: tick)))
        })
    }

    /// The upstream client `loop` drives (a loop of this worker's group).
    func upstream(for loop: EventLoop) -> UpstreamClient { services(of: loop).inbox.upstream }

    /// The clock of the connections and requests `loop` serves (a loop of this worker's group).
    func clock(for loop: EventLoop) -> LoopClock { services(of: loop).clock }

    /// Every upstream client of the worker, one per event loop.
    var allUpstreams: [UpstreamClient] { loops.values.map(\.inbox.upstream) }

    /// The inbox through which curl's reports reach `loop` (a loop of this worker's group).
    func inbox(for loop: EventLoop) -> HandOffInbox { services(of: loop).inbox }

    private func services(of loop: EventLoop) -> LoopServices {
        guard let services = loops[ObjectIdentifier(loop)] else {
            preconditionFailure("an event loop outside the worker's group")
        }
        return services
    }


    /// The worker's metrics, with the Redis client's count of failed commands (every failure, whichever
    /// feature issued it), the requests admitted from rate-limit leases and the memos' lookups.
    func metricsSnapshot() -> MetricsSnapshot {
        var snapshot = metrics.current()
        if let redis = controlPlane.redis {
            snapshot.counters[MetricsSnapshot.Series(MetricFamily.redisErrors.name)] = Double(redis.errors)
        }
        if let leased = controlPlane.rateLimiter?.leaseAdmissions, leased > 0 {
            snapshot.counters[MetricsSnapshot.Series(MetricFamily.rateLimitLeased.name)] = Double(leased)
        }
        Self.add(memos.tools.lookupCounts, as: .toolMemoLookups, to: &snapshot)
        Self.add(memos.systems.lookupCounts, as: .systemMemoLookups, to: &snapshot)
        Self.add(memos.conversations.lookupCounts, as: .conversationMemoLookups, to: &snapshot)
        return snapshot
    }

    private static func add(_ lookups: MemoLookups, as family: MetricFamily, to snapshot: inout MetricsSnapshot) {
        guard lookups.known + lookups.new > 0 else { return }
        snapshot.counters[MetricsSnapshot.Series(family.name, [("result", "known")])] = Double(lookups.known)
        snapshot.counters[MetricsSnapshot.Series(family.name, [("result", "new")])] = Double(lookups.new)
    }

    /// Reserves an upstream slot, or false when the worker is at capacity (529, shed fast).
    func reserveUpstream() -> Bool {
        upstreamSlots.withLockedValue { slots in
            guard slots.inFlight < config.maxConcurrentUpstream else { return false }
            slots.inFlight += 1
            slots.started &+= 1
            return true
        }
    }

    func releaseUpstream() {
        upstreamSlots.withLockedValue { $0.inFlight -= 1 }
    }

    var upstreamActivity: UpstreamActivity { upstreamSlots.withLockedValue { $0 } }

    var activeRequests: Int { active.withLockedValue { $0 } }
    func requestStarted() { active.withLockedValue { $0 += 1 } }
    func requestFinished() { active.withLockedValue { $0 -= 1 } }

    var isDraining: Bool { draining.withLockedValue { $0 } }
    func beginDraining() { draining.withLockedValue { $0 = true } }
}

/// A worker's upstream requests: how many are in flight, and how many have started since it booted.
struct UpstreamActivity {
    var inFlight: Int
    var started: Int
}
