import Logging
import Shared

/// Redis's state as `/health` (`"redis"`) and `/metrics` (`redis_up`) report it.
enum RedisHealth: Sendable, Equatable {
    case notConfigured
    case up
    case down

    /// The `/health` value.
    var label: String {
        switch self {
        case .notConfigured: return "not_configured"
        case .up: return "up"
        case .down: return "down"
        }
    }
}

/// What a control-plane component (Redis) adds to the admin endpoints. Called on admin requests, on an event loop:
/// answer from memory, never wait on Redis.
protocol HealthContributor: Sendable {
    func redisHealth() -> RedisHealth
    /// Prometheus text appended to `/metrics` after the node's own families (the fleet view); "" for none.
    func fleetMetricsText() -> String
}

/// Embedded single-node mode: no Redis, no fleet view.
struct NoControlPlane: HealthContributor {
    func redisHealth() -> RedisHealth { .notConfigured }
    func fleetMetricsText() -> String { "" }
}

/// The extension points of the master, assembled once at start.
///
/// HOOK FOR REDIS AND THE EMBEDDED LIMITER: build the components in `make(config:port:metrics:logger:)` — a
/// `HealthContributor` for `/health` and the fleet view (e.g. `FleetMetrics`, which publishes `metrics.totals()`
/// under this node's key), a `ControlRequestHandler` for the workers' rate-limit requests (e.g.
/// `EmbeddedRateLimits`), and `start`/`stop` for anything with a timer or a connection.
struct MasterHooks: Sendable {
    var health: any HealthContributor
    var controlRequests: any ControlRequestHandler
    /// Called once, after the listeners are bound and before the first worker is spawned.
    var start: @Sendable () -> Void = {}
    /// Called once, after the last worker is gone.
    var stop: @Sendable () -> Void = {}

    /// - Parameter port: the bound API port (the kernel's choice when PORT is 0), e.g. to name this replica.
    static func make(config: GatewayConfig, port: Int, metrics: NodeMetrics, logger: Logger) -> MasterHooks {
        // Workers ask the master only in embedded mode (rate limits on, no Redis); answering always keeps a reload
        // that turns limits on correct without a restart.
        var hooks = MasterHooks(health: NoControlPlane(),
                                controlRequests: EmbeddedRateLimits(limiter: LocalRateLimiter()))
        if let url = config.redisURL {
            let client = RedisClient(configuration: .init(url: url, timeoutMilliseconds: config.redisTimeoutMs),
                                     logger: logger)
            let fleet = FleetMetrics(client: client, instance: FleetMetrics.instanceName(config: config, port: port),
                                     metrics: metrics, logger: logger)
            hooks.health = fleet
            hooks.start = { fleet.start() }
            hooks.stop = {
                fleet.stop()
                client.shutdown()
            }
        }
        return hooks
    }
}
