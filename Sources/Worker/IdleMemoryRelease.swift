import CPlatform
import Glibc
import Logging
import NIOCore
import Shared

/// Gives the heap memory a worker freed back to the system once the worker has gone quiet after serving upstream
/// requests (`IDLE_MEMORY_RELEASE_SECONDS`).
///
/// glibc keeps freed memory mapped for reuse and returns on its own only a free stretch at the very top of a heap,
/// so after a burst a worker's RSS stays near the burst's high-water mark for as long as it lives: 52 MiB a worker
/// after 2,000 slow streams and 500 paced ones, against 21 MiB at start (BENCHMARKS.md, "Thirty-fourth round").
/// `malloc_trim(0)` (`cg_release_free_heap_memory`) hands back every whole free page of every heap. It walks the
/// heaps' free chunks holding each arena's lock in turn (a few milliseconds after a large burst), so it runs only
/// when no upstream request has started or been in flight for the quiet period, and once per quiet spell: a worker
/// that has served nothing since its last release has nothing new to give back. Health checks, metrics scrapes and
/// `count_tokens` calls neither count as activity nor trigger it.
final class IdleMemoryRelease: @unchecked Sendable {
    private let context: WorkerContext
    private let loop: EventLoop
    /// Idle curl handles each event loop keeps through a release; the rest of the up to 256 a burst leaves are
    /// freed, since each allocation they keep pins a page of the heap.
    private static let spareHandlesKept = 8
    /// Touched on `loop` only.
    private var spell: QuietSpell
    private var looks: RepeatedTask?

    init(context: WorkerContext, loop: EventLoop, quietSeconds: Double) {
        self.context = context
        self.loop = loop
        spell = QuietSpell(quietSeconds: quietSeconds)
    }

    /// Looks at the worker's upstream activity four times per quiet period, at least once a second.
    func start() {
        let interval = TimeAmount.fromSeconds(min(1, max(0.05, spell.quietSeconds / 4)))
        looks = loop.scheduleRepeatedTask(initialDelay: interval, delay: interval) { [self] _ in look() }
    }

    func stop() {
        looks?.cancel()
        looks = nil
    }

    private func look() {
        let now = NIODeadline.now().uptimeNanoseconds
        guard spell.shouldRelease(seeing: context.upstreamActivity, atNanoseconds: now) else { return }
        let handles = context.allUpstreams.map { $0.releaseSpareHandles(keeping: Self.spareHandlesKept) }
        EventLoopFuture.andAllComplete(handles, on: loop).whenComplete { [self] _ in trimHeaps() }
    }

    private func trimHeaps() {
        let before = ResidentMemory.kibibytes()
        let trimStart = NIODeadline.now().uptimeNanoseconds
        cg_release_free_heap_memory()
        let elapsed = NIODeadline.now().uptimeNanoseconds - trimStart
        var metadata: Logger.Metadata = ["duration_us": .string(String(elapsed / 1000))]
        if let before, let after = ResidentMemory.kibibytes() {
            metadata["rss_before_kib"] = .string(String(before))
            metadata["rss_after_kib"] = .string(String(after))
        }
        context.logger.info("idle memory released", metadata: metadata)
    }
}

/// When a worker has been quiet long enough to give memory back: the pure rule `IdleMemoryRelease` applies to what
/// it sees of the worker's upstream requests at each look.
struct QuietSpell {
    let quietSeconds: Double
    /// What the previous look saw; nil before the first.
    private var lastSeen: UpstreamActivity?
    /// When a look last saw a request started since the look before, or one in flight.
    private var lastActiveAt: UInt64 = 0
    /// Whether a request has started since the last release (or since the worker booted).
    private var servedSinceRelease = false

    init(quietSeconds: Double) {
        self.quietSeconds = quietSeconds
    }

    /// Whether to release now, given what a look at `now` (nanoseconds of a monotonic clock) sees.
    mutating func shouldRelease(seeing activity: UpstreamActivity, atNanoseconds now: UInt64) -> Bool {
        let startedSinceLastLook = activity.started != (lastSeen?.started ?? 0)
        lastSeen = activity
        if startedSinceLastLook { servedSinceRelease = true }
        if startedSinceLastLook || activity.inFlight > 0 {
            lastActiveAt = now
            return false
        }
        guard servedSinceRelease, Double(now &- lastActiveAt) >= quietSeconds * 1_000_000_000 else { return false }
        servedSinceRelease = false
        return true
    }
}

/// The process's resident memory, from `/proc/self/statm`.
enum ResidentMemory {
    /// Resident KiB; nil when `/proc` cannot be read.
    static func kibibytes() -> Int? {
        guard let statm = TextFile.contents(atPath: "/proc/self/statm") else { return nil }
        let fields = statm.split(separator: " ")
        guard fields.count > 1, let pages = Int(fields[1]) else { return nil }
        return pages * Int(sysconf(Int32(_SC_PAGESIZE))) / 1024
    }
}
