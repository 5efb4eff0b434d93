import Dispatch
import Logging
import NIOConcurrencyHelpers
import Shared

/// Redis mode: reports Redis's health and the fleet view.
///
/// Every few seconds this master publishes its node totals under its own key (with a TTL, so a replica that
/// disappears drops out) and reads everyone's; `/metrics` then appends the sum as `cerebras_gateway_fleet_*`
/// series. Admin requests read the last result from memory and never wait on Redis.
final class FleetMetrics: HealthContributor, @unchecked Sendable {
    static let publishInterval = 5.0
    /// Three missed publications and a replica no longer counts.
    static let ttlSeconds = 15

    private let client: RedisClient
    private let store: RedisFleetStore
    private let instance: String
    private let metrics: NodeMetrics
    private let logger: Logger
    private let fleetText = NIOLockedValueBox("")
    // Accessed only on `queue`.
    private let queue = DispatchQueue(label: "cerebras-gateway.fleet-metrics")
    private var timer: DispatchSourceTimer?

    init(client: RedisClient, instance: String, metrics: NodeMetrics, logger: Logger) {
        self.client = client
        store = RedisFleetStore(client: client)
        self.instance = instance
        self.metrics = metrics
        self.logger = logger
    }

    func start() {
        queue.async { [self] in
            let timer = DispatchSource.makeTimerSource(queue: queue)
            timer.schedule(deadline: .now() + 0.2, repeating: Self.publishInterval)
            timer.setEventHandler { [weak self] in self?.tick() }
            timer.resume()
            self.timer = timer
        }
    }

    func stop() {
        queue.sync {
            timer?.cancel()
            timer = nil
        }
    }

    func redisHealth() -> RedisHealth {
        client.state == .connected ? .up : .down
    }

    func fleetMetricsText() -> String {
        fleetText.withLockedValue { $0 }
    }

    private func tick() {
        let payload = metrics.totals().json().serialized
        store.publish(instance: instance, payload: payload, ttlSeconds: Self.ttlSeconds)
        store.fetchAll { [self] result in
            switch result {
            case .success(let nodes):
                var fleet = MetricsSnapshot()
                for node in nodes {
                    guard let json = try? JSONParser.parse(node.payload) else { continue }
                    fleet.add(MetricsSnapshot(json: json))
                }
                let text = Self.render(fleet: fleet, instances: nodes.count)
                fleetText.withLockedValue { $0 = text }
            case .failure(let error):
                // Stale fleet figures would mislead: show none until Redis answers again.
                fleetText.withLockedValue { $0 = "" }
                logger.debug("fleet metrics unavailable", metadata: ["error": .string("\(error)")])
            }
        }
    }

    /// The fleet sum under `cerebras_gateway_fleet_*` names, so scraping every replica never double counts
    /// (read these with `max()`, the node series with `sum()`).
    static func render(fleet: MetricsSnapshot, instances: Int) -> String {
        let prefix = MetricFamily.prefix
        var text = PrometheusText.render(fleet, renaming: { name in
            prefix + "fleet_" + name.dropFirst(prefix.count)
        })
        let family = MetricFamily.fleetInstances
        text += "# HELP \(family.name) \(family.help)\n# TYPE \(family.name) gauge\n\(family.name) \(instances)\n"
        return text
    }

    /// This replica's name in the fleet: `INSTANCE_ID`, else host name and API port.
    static func instanceName(config: GatewayConfig, port: Int) -> String {
        if let id = config.instanceID { return id }
        return "\(HostName.current()):\(port)"
    }
}
