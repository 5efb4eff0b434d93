import Shared

/// The admin `/health` answer: liveness and readiness of the node.
///
/// 200 while serving (at least one ready worker, not stopping), 503 otherwise, so a load balancer takes a
/// starting, broken or draining node out of rotation.
struct HealthReport: Sendable, Equatable {
    enum Status: String, Sendable {
        case ok, degraded, unavailable, draining
    }

    var node: NodeStatus
    var redis: RedisHealth
    var uptime: Double
    var version: String

    var status: Status {
        if node.phase == .stopping { return .draining }
        if node.readyWorkers == 0 { return .unavailable }
        if node.readyWorkers < node.configuredWorkers || redis == .down { return .degraded }
        return .ok
    }

    var httpStatus: Int {
        switch status {
        case .ok, .degraded: return 200
        case .unavailable, .draining: return 503
        }
    }

    var json: JSONValue {
        let reload = node.lastReload
        return .object(JSONObject([
            ("status", .string(status.rawValue)),
            ("workers", .object(JSONObject([
                ("alive", .int(node.aliveWorkers)), ("ready", .int(node.readyWorkers)),
                ("configured", .int(node.configuredWorkers)),
            ]))),
            ("generation", .int(node.generation)),
            ("last_reload", .object(JSONObject([
                ("result", .string(reload.result.rawValue)), ("at", reload.at.map(JSONValue.string) ?? .null),
                ("error", reload.error.map(JSONValue.string) ?? .null),
            ]))),
            ("redis", .string(redis.label)),
            ("uptime_seconds", .double((uptime * 1000).rounded() / 1000)),
            ("version", .string(version)),
        ]))
    }

    var body: String {
        var writer = JSONWriter(capacity: 256)
        writer.value(json)
        return String(decoding: writer.takeBytes(), as: UTF8.self)
    }
}
