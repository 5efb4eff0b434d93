import Glibc
import Shared
import XCTest

@testable import Master

/// The pure pieces around the arbiter: worker environment, systemd address parsing, health, metrics, admin routes.
final class MasterComponentTests: XCTestCase {
    // MARK: - WorkerEnvironment

    func testWorkerEnvironmentOverlaysTheResolvedConfigurationAndHidesMasterOnlyVariables() {
        let environment = WorkerEnvironment(host: "127.0.0.1", port: 41234, adminPort: 9091).build(
            processEnvironment: ["PATH": "/bin", "NOTIFY_SOCKET": "/run/x", "WATCHDOG_USEC": "1000", "PORT": "1",
                                 "WORKERS": "9", "ENV_FILE": "/etc/gateway.env"],
            configuration: ConfigSource(values: ["PORT": "0", "WORKERS": "2", "LOG_LEVEL": "debug",
                                                 "ENV_FILE": "/etc/gateway.env"]))
        XCTAssertEqual(environment, [
            "ADMIN_PORT=9091", "GLIBC_TUNABLES=glibc.malloc.tcache_count=64", "GNUTLS_NO_IMPLICIT_INIT=1",
            "HOST=127.0.0.1", "LISTEN_FDS=1", "LOG_LEVEL=debug", "PATH=/bin", "PORT=41234", "WORKERS=2",
        ])
    }

    func testWorkerEnvironmentKeepsTheOperatorsGnuTLSChoice() {
        let environment = WorkerEnvironment(host: "127.0.0.1", port: 1, adminPort: -1).build(
            processEnvironment: ["GNUTLS_NO_IMPLICIT_INIT": "0"], configuration: ConfigSource(values: [:]))
        XCTAssertTrue(environment.contains("GNUTLS_NO_IMPLICIT_INIT=0"))
        XCTAssertFalse(environment.contains("GNUTLS_NO_IMPLICIT_INIT=1"))
    }

    /// The allocator setting is the gateway's default only: any value of the operator's wins, an empty one too
    /// (glibc's own defaults), and one in the configuration file reaches the workers like the file's other lines.
    func testWorkerEnvironmentKeepsTheOperatorsAllocatorTunables() {
        for (process, file, expected) in [
            (["GLIBC_TUNABLES": "glibc.malloc.arena_max=2"], [:], "GLIBC_TUNABLES=glibc.malloc.arena_max=2"),
            (["GLIBC_TUNABLES": ""], [:], "GLIBC_TUNABLES="),
            ([:], ["GLIBC_TUNABLES": "glibc.malloc.tcache_count=16"], "GLIBC_TUNABLES=glibc.malloc.tcache_count=16"),
        ] as [([String: String], [String: String], String)] {
            let environment = WorkerEnvironment(host: "127.0.0.1", port: 1, adminPort: -1).build(
                processEnvironment: process, configuration: ConfigSource(values: file))
            XCTAssertEqual(environment.filter { $0.hasPrefix("GLIBC_TUNABLES=") }, [expected])
        }
    }

    // MARK: - SystemdNotifier

    func testNotifySocketAddresses() throws {
        let pathAddress = try XCTUnwrap(SystemdNotifier.socketAddress("/run/systemd/notify"))
        XCTAssertEqual(Array(pathAddress.dropFirst(2)), Array("/run/systemd/notify".utf8) + [0])
        let abstract = try XCTUnwrap(SystemdNotifier.socketAddress("@gateway/notify"))
        XCTAssertEqual(Array(abstract.dropFirst(2)), [0] + Array("gateway/notify".utf8), "no trailing NUL")
        XCTAssertEqual(abstract.prefix(2), pathAddress.prefix(2), "AF_UNIX family in both")
        XCTAssertNil(SystemdNotifier.socketAddress("relative/path"))
        XCTAssertNil(SystemdNotifier.socketAddress("/" + String(repeating: "x", count: 200)))
    }

    func testWatchdogIntervalIsHalfThePeriodAndOnlyForTheNamedPid() {
        XCTAssertEqual(SystemdNotifier.watchdogInterval(environment: ["WATCHDOG_USEC": "4000000"], pid: 10), 2)
        XCTAssertEqual(SystemdNotifier.watchdogInterval(
            environment: ["WATCHDOG_USEC": "4000000", "WATCHDOG_PID": "10"], pid: 10), 2)
        XCTAssertNil(SystemdNotifier.watchdogInterval(
            environment: ["WATCHDOG_USEC": "4000000", "WATCHDOG_PID": "11"], pid: 10))
        XCTAssertNil(SystemdNotifier.watchdogInterval(environment: ["WATCHDOG_USEC": "0"], pid: 10))
        XCTAssertNil(SystemdNotifier.watchdogInterval(environment: [:], pid: 10))
    }

    func testNotifierSendsOneDatagramPerStateChange() throws {
        let path = NSTemporaryDirectory() + "cgw-notify-unit-\(getpid())"
        let socket = try NotifyListener(path: path)
        defer { socket.close() }
        let notifier = try XCTUnwrap(SystemdNotifier(environment: ["NOTIFY_SOCKET": path]))
        notifier.ready(status: "Serving")
        notifier.reloading(status: "Reloading")
        XCTAssertEqual(socket.receive(timeout: 2), "READY=1\nSTATUS=Serving")
        let reloading = try XCTUnwrap(socket.receive(timeout: 2))
        XCTAssertTrue(reloading.hasPrefix("RELOADING=1\nMONOTONIC_USEC="), reloading)
    }

    // MARK: - HealthReport

    func testHealthStatusAndHTTPCode() {
        var node = NodeStatus()
        node.phase = .running
        node.configuredWorkers = 2
        node.readyWorkers = 2
        var report = HealthReport(node: node, redis: .notConfigured, uptime: 1.5, version: "9.9.9")
        XCTAssertEqual(report.status, .ok)
        XCTAssertEqual(report.httpStatus, 200)
        report.node.readyWorkers = 1
        XCTAssertEqual(report.status, .degraded)
        XCTAssertEqual(report.httpStatus, 200)
        report.node.readyWorkers = 2
        report.redis = .down
        XCTAssertEqual(report.status, .degraded)
        report.node.readyWorkers = 0
        XCTAssertEqual(report.status, .unavailable)
        XCTAssertEqual(report.httpStatus, 503)
        report.node.readyWorkers = 2
        report.node.phase = .stopping
        XCTAssertEqual(report.status, .draining)
        XCTAssertEqual(report.httpStatus, 503)
    }

    func testHealthJSONShape() throws {
        var node = NodeStatus()
        node.phase = .running
        node.generation = 3
        node.configuredWorkers = 2
        node.readyWorkers = 2
        node.aliveWorkers = 3
        node.lastReload = ReloadRecord(result: .failure, at: "2025-01-01T00:00:00Z", error: "LOG_LEVEL: bad")
        let report = HealthReport(node: node, redis: .notConfigured, uptime: 12.3456, version: "1.2.3")
        let json = try JSONParser.parse(report.body)
        XCTAssertEqual(json["status"]?.stringValue, "ok")
        XCTAssertEqual(json["workers"]?["alive"]?.intValue, 3)
        XCTAssertEqual(json["workers"]?["ready"]?.intValue, 2)
        XCTAssertEqual(json["workers"]?["configured"]?.intValue, 2)
        XCTAssertEqual(json["generation"]?.intValue, 3)
        XCTAssertEqual(json["last_reload"]?["result"]?.stringValue, "failure")
        XCTAssertEqual(json["last_reload"]?["at"]?.stringValue, "2025-01-01T00:00:00Z")
        XCTAssertEqual(json["last_reload"]?["error"]?.stringValue, "LOG_LEVEL: bad")
        XCTAssertEqual(json["redis"]?.stringValue, "not_configured")
        XCTAssertEqual(json["uptime_seconds"]?.doubleValue, 12.346)
        XCTAssertEqual(json["version"]?.stringValue, "1.2.3")
    }

    // MARK: - NodeMetrics

    func testNodeMetricsSumsLiveWorkersAndKeepsRetiredCountersButNotTheirGauges() {
        let metrics = NodeMetrics(version: "1.0.0")
        let requests = MetricsSnapshot.Series(MetricFamily.requests.name, [("route", "messages")])
        let streams = MetricsSnapshot.Series(MetricFamily.activeStreams.name)
        func snapshot(requests count: Double, streams active: Double) -> MetricsSnapshot {
            var snapshot = MetricsSnapshot()
            snapshot.counters[requests] = count
            snapshot.gauges[streams] = active
            return snapshot
        }
        metrics.workerStarted(pid: 1)
        metrics.workerStarted(pid: 2)
        metrics.record(pid: 1, snapshot: snapshot(requests: 5, streams: 1))
        metrics.record(pid: 2, snapshot: snapshot(requests: 7, streams: 2))
        metrics.record(pid: 3, snapshot: snapshot(requests: 100, streams: 100))  // never started: ignored
        XCTAssertEqual(metrics.totals().counters[requests], 12)
        XCTAssertEqual(metrics.totals().gauges[streams], 3)

        metrics.retire(pid: 1)
        metrics.record(pid: 1, snapshot: snapshot(requests: 50, streams: 5))  // late message of a retired worker
        XCTAssertEqual(metrics.totals().counters[requests], 12, "a retired worker's counts stay, once")
        XCTAssertEqual(metrics.totals().gauges[streams], 2, "a retired worker's gauges go")
    }

    func testNodeMetricsRendersTheMasterFamilies() {
        let metrics = NodeMetrics(version: "1.0.0")
        var status = NodeStatus()
        status.generation = 4
        status.readyWorkers = 2
        status.startingWorkers = 1
        status.workerRestarts = 3
        status.reloadsSucceeded = 2
        status.reloadsFailed = 1
        metrics.publish(status)
        let text = metrics.render()
        for line in [
            "cerebras_gateway_workers{state=\"ready\"} 2", "cerebras_gateway_workers{state=\"starting\"} 1",
            "cerebras_gateway_workers{state=\"draining\"} 0", "cerebras_gateway_worker_restarts_total 3",
            "cerebras_gateway_reloads_total{result=\"success\"} 2",
            "cerebras_gateway_reloads_total{result=\"failure\"} 1",
            "cerebras_gateway_generation 4", "cerebras_gateway_build_info{version=\"1.0.0\"} 1",
            "# TYPE cerebras_gateway_uptime_seconds gauge",
        ] {
            XCTAssertTrue(text.contains(line + "\n"), "missing \(line) in\n\(text)")
        }
        XCTAssertFalse(text.contains("redis_up"), "absent when Redis is not configured")
    }

    // MARK: - AdminRoutes

    func testAdminRoutes() throws {
        let metrics = NodeMetrics(version: "1.0.0")
        var status = NodeStatus()
        status.phase = .running
        status.configuredWorkers = 1
        status.readyWorkers = 1
        metrics.publish(status)
        metrics.setHealthContributor(FakeControlPlane())
        let routes = AdminRoutes(metrics: metrics)
        let health = routes.respond(method: "GET", uri: "/health?verbose=1")
        XCTAssertEqual(health.status, 200)
        XCTAssertEqual(health.contentType, "application/json")
        XCTAssertEqual(try JSONParser.parse(health.body)["redis"]?.stringValue, "up")
        let text = routes.respond(method: "GET", uri: "/metrics")
        XCTAssertEqual(text.contentType, "text/plain; version=0.0.4; charset=utf-8")
        XCTAssertTrue(text.body.contains("cerebras_gateway_redis_up 1\n"))
        XCTAssertTrue(text.body.hasSuffix("fleet_text 1\n"), "fleet view appended")
        XCTAssertEqual(routes.respond(method: "POST", uri: "/health").status, 405)
        XCTAssertEqual(routes.respond(method: "GET", uri: "/nope").status, 404)
    }

    func testEmbeddedRateLimitsAnswerForTheWholeNode() {
        let answers = Answers()
        let handler = EmbeddedRateLimits(limiter: LocalRateLimiter())
        for id in 1...3 {
            // Two workers asking for the same key share one budget of 2 requests per minute.
            handler.handle(.rateLimitAcquire(id: id, bucket: "k", requestsPerMinute: 2, tokensPerMinute: 0, tokens: 10)) {
                answers.append($0)
            }
        }
        handler.handle(.rateLimitCorrect(bucket: "k", requestsPerMinute: 2, tokensPerMinute: 0, deltaTokens: 3)) {
            answers.append($0)
        }
        let allowed = answers.all.compactMap { message -> Bool? in
            guard case .rateLimitDecision(_, let decision, _) = message else { return nil }
            return decision.allowed
        }
        XCTAssertEqual(allowed, [true, true, false], "a correction has no answer")
    }

    /// The master grants leases by the acquire script's rule (an eighth of the room left at most) and takes back
    /// what a worker gives back.
    func testEmbeddedRateLimitsGrantAndTakeBackLeases() throws {
        let answers = Answers()
        let limiter = LocalRateLimiter(clock: { 1_000_000_000 })  // time stands still: nothing refills
        let handler = EmbeddedRateLimits(limiter: limiter)
        handler.handle(.rateLimitAcquire(id: 1, bucket: "k", requestsPerMinute: 800, tokensPerMinute: 0, tokens: 0,
                                         lease: .init(wantRequests: 200))) { answers.append($0) }
        guard case .rateLimitDecision(1, let decision, let grant?)? = answers.all.first else {
            return XCTFail("no grant in \(answers.all)")
        }
        XCTAssertEqual(decision.requestsRemaining, 799)
        XCTAssertEqual(grant.requests, 99, "an eighth of the 799 requests left")
        // No lease asked for: none granted.
        handler.handle(.rateLimitAcquire(id: 2, bucket: "k", requestsPerMinute: 800, tokensPerMinute: 0, tokens: 0)) {
            answers.append($0)
        }
        guard case .rateLimitDecision(2, let second, nil)? = answers.all.last else {
            return XCTFail("unexpected \(answers.all)")
        }
        XCTAssertEqual(second.requestsRemaining, 699)
        // The whole lease given back: as if only the two requests had been charged.
        handler.handle(.rateLimitCorrect(bucket: "k", requestsPerMinute: 800, tokensPerMinute: 0, deltaTokens: 0,
                                         returnedRequests: 99)) { answers.append($0) }
        let after = limiter.acquire(bucket: "k", limits: RateLimits(requestsPerMinute: 800, tokensPerMinute: 0),
                                    tokens: 0, terms: .init())
        XCTAssertEqual(after.decision.requestsRemaining, 797)
        XCTAssertEqual(answers.all.count, 2, "a give-back has no answer")
    }
}

private struct FakeControlPlane: HealthContributor {
    func redisHealth() -> RedisHealth { .up }
    func fleetMetricsText() -> String { "fleet_text 1\n" }
}

private final class Answers: @unchecked Sendable {
    private let lock = NSLock()
    private var messages: [ControlMessage] = []
    func append(_ message: ControlMessage) { lock.withLock { messages.append(message) } }
    var all: [ControlMessage] { lock.withLock { messages } }
}
