import Glibc
import Shared
import Synchronization

/// This node's metrics: the latest heartbeat snapshot of every live worker, plus the final snapshots of exited
/// workers (their counters and histograms; gauges of a dead process mean nothing), plus the master's own families.
///
/// Workers send cumulative snapshots, so a lost heartbeat loses nothing for good. The master loop is the only
/// writer; `render()` may be called from any thread (admin listener, and later the workers' `/metrics` through the
/// control channel).
final class NodeMetrics: Sendable {
    private struct State {
        var live: [pid_t: MetricsSnapshot] = [:]
        var retired = MetricsSnapshot()
        var status = NodeStatus()
        var health: any HealthContributor = NoControlPlane()
    }

    let version: String
    private let startedAt: Double
    private let state = Mutex(State())

    init(version: String = GatewayVersion.current, startedAt: Double = MonotonicClock.now()) {
        self.version = version
        self.startedAt = startedAt
    }

    /// Where `redis_up` comes from (the hooks are built after this type, since they may read its totals).
    func setHealthContributor(_ health: any HealthContributor) {
        state.withLock { $0.health = health }
    }

    // MARK: - Written by the master loop

    /// A worker process exists; its heartbeats count from now on.
    func workerStarted(pid: pid_t) {
        state.withLock { $0.live[pid] = MetricsSnapshot() }
    }

    /// The worker's latest cumulative snapshot. Ignored for a worker already retired (a late message).
    func record(pid: pid_t, snapshot: MetricsSnapshot) {
        state.withLock { state in
            guard state.live[pid] != nil else { return }
            state.live[pid] = snapshot
        }
    }

    /// The worker is gone (reaped and its channel read to the end): keep its counters for good.
    func retire(pid: pid_t) {
        state.withLock { state in
            guard let last = state.live.removeValue(forKey: pid) else { return }
            state.retired.add(last.withoutGauges)
        }
    }

    func publish(_ status: NodeStatus) {
        state.withLock { $0.status = status }
    }

    // MARK: - Read from anywhere

    var status: NodeStatus { state.withLock { $0.status } }

    var uptime: Double { MonotonicClock.now() - startedAt }

    var healthContributor: any HealthContributor { state.withLock { $0.health } }

    var redisHealth: RedisHealth { healthContributor.redisHealth() }

    /// The workers' totals (live and retired), without the master's families: what a node publishes to the fleet.
    func totals() -> MetricsSnapshot {
        state.withLock { state in
            var total = state.retired
            for snapshot in state.live.values { total.add(snapshot) }
            return total
        }
    }

    /// The workers' totals plus the master's families.
    func snapshot() -> MetricsSnapshot {
        var snapshot = totals()
        let status = self.status
        typealias Series = MetricsSnapshot.Series
        let workers = MetricFamily.workers.name
        snapshot.gauges[Series(workers, [("state", "ready")])] = Double(status.readyWorkers)
        snapshot.gauges[Series(workers, [("state", "starting")])] = Double(status.startingWorkers)
        snapshot.gauges[Series(workers, [("state", "draining")])] = Double(status.drainingWorkers)
        snapshot.counters[Series(MetricFamily.workerRestarts.name)] = Double(status.workerRestarts)
        snapshot.counters[Series(MetricFamily.reloads.name, [("result", "success")])] = Double(status.reloadsSucceeded)
        snapshot.counters[Series(MetricFamily.reloads.name, [("result", "failure")])] = Double(status.reloadsFailed)
        snapshot.gauges[Series(MetricFamily.generation.name)] = Double(status.generation)
        snapshot.gauges[Series(MetricFamily.uptime.name)] = (uptime * 1000).rounded() / 1000
        snapshot.gauges[Series(MetricFamily.buildInfo.name, [("version", version)])] = 1
        switch redisHealth {
        case .notConfigured: break
        case .up: snapshot.gauges[Series(MetricFamily.redisUp.name)] = 1
        case .down: snapshot.gauges[Series(MetricFamily.redisUp.name)] = 0
        }
        return snapshot
    }

    /// Prometheus text (exposition format 0.0.4) of `snapshot()`.
    func render() -> String {
        PrometheusText.render(snapshot())
    }
}

/// Monotonic seconds (CLOCK_MONOTONIC): the master's only clock for deadlines.
enum MonotonicClock {
    static func now() -> Double {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return Double(now.tv_sec) + Double(now.tv_nsec) / 1_000_000_000
    }
}
