import Foundation
import Glibc
import Shared
import TestSupport
import XCTest

/// The master binary as a real process, driven with real signals (HOUSE_STYLE "Real processes"). Only the
/// master ⇄ worker contract is assumed of the worker: it serves `GET /` with 200 on the inherited socket, answers
/// `/health` and `/metrics` through the master, drains on `.drain`/SIGTERM/control EOF, and exits 3 when
/// `CGW_TEST_FAIL_BOOT=1` or when it cannot open the libcurl `CGW_TEST_LIBCURL` names.
final class MasterProcessTests: XCTestCase {
    private var directory = ""
    private var processes: [GatewayProcess] = []

    override func setUpWithError() throws {
        directory = NSTemporaryDirectory() + "cgw-master-\(getpid())-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try "# test configuration\n".write(toFile: envFile, atomically: true, encoding: .utf8)
    }

    override func tearDown() {
        for process in processes { process.terminate() }
        processes.removeAll()
        try? FileManager.default.removeItem(atPath: directory)
    }

    private var envFile: String { directory + "/gateway.env" }

    private func launch(workers: Int = 2, arguments: [String] = [], environment extra: [String: String] = [:])
        throws -> GatewayProcess
    {
        var environment = GatewayProcess.baseEnvironment(directory: directory)
        environment.merge(extra, uniquingKeysWith: { $1 })
        let process = try GatewayProcess(
            arguments: ["--port", "0", "--admin-port", "0", "--workers", String(workers)] + arguments,
            environment: environment, directory: directory)
        processes.append(process)
        return process
    }

    private func start(workers: Int = 2, arguments: [String] = [], environment: [String: String] = [:])
        throws -> (GatewayProcess, GatewayProcess.Ready)
    {
        let process = try launch(workers: workers, arguments: arguments, environment: environment)
        let ready = try process.waitForReady()
        XCTAssertEqual(ready.pid, process.pid)
        XCTAssertGreaterThan(ready.port, 0)
        XCTAssertGreaterThan(ready.adminPort, 0)
        let spawned = process.waitForWorkers { $0.count == workers }
        XCTAssertNotNil(spawned, "expected \(workers) workers, have \(process.workers())")
        return (process, ready)
    }

    /// Runs the binary to completion (check-config, --version…).
    private func run(_ arguments: [String], environment extra: [String: String] = [:]) throws
        -> (code: Int32?, stdout: String, stderr: String)
    {
        var environment = GatewayProcess.baseEnvironment(directory: directory)
        environment.merge(extra, uniquingKeysWith: { $1 })
        let process = try GatewayProcess(arguments: arguments, environment: environment, directory: directory)
        processes.append(process)
        let code = process.waitForExit(timeout: 30)
        return (code, process.stdout, process.stderr)
    }

    private func health(_ ready: GatewayProcess.Ready) -> JSONValue? {
        HTTPProbe.get(port: ready.adminPort, path: "/health")?.json
    }

    private func assertServes(_ ready: GatewayProcess.Ready, requests: Int = 10, file: StaticString = #filePath,
                              line: UInt = #line) {
        for index in 0..<requests {
            let response = HTTPProbe.get(port: ready.port, path: "/")
            XCTAssertEqual(response?.status, 200, "request \(index)", file: file, line: line)
        }
    }

    // MARK: - Start, serve, stop

    func testStartsServesAndReportsHealthOnBothPorts() throws {
        let (_, ready) = try start(workers: 2)
        assertServes(ready)
        let admin = try XCTUnwrap(health(ready))
        XCTAssertEqual(admin["status"]?.stringValue, "ok")
        XCTAssertEqual(admin["workers"]?["ready"]?.intValue, 2)
        XCTAssertEqual(admin["workers"]?["configured"]?.intValue, 2)
        XCTAssertEqual(admin["generation"]?.intValue, 1)
        XCTAssertEqual(admin["last_reload"]?["result"]?.stringValue, "none")
        XCTAssertEqual(admin["redis"]?.stringValue, "not_configured")
        // The API port answers /health and /metrics for the whole node, through the master.
        let api = try XCTUnwrap(HTTPProbe.get(port: ready.port, path: "/health"))
        XCTAssertEqual(api.status, 200)
        XCTAssertEqual(api.json?["workers"]?["configured"]?.intValue, 2, api.body)
        for port in [ready.adminPort, ready.port] {
            let metrics = try XCTUnwrap(HTTPProbe.get(port: port, path: "/metrics"))
            XCTAssertEqual(metrics.status, 200)
            XCTAssertTrue(metrics.headers["content-type"]?.hasPrefix("text/plain; version=0.0.4") ?? false)
            XCTAssertTrue(metrics.body.contains("cerebras_gateway_workers{state=\"ready\"} 2\n"), metrics.body)
            XCTAssertTrue(metrics.body.contains("cerebras_gateway_generation 1\n"), metrics.body)
            XCTAssertTrue(metrics.body.contains("cerebras_gateway_build_info{version="), metrics.body)
        }
    }

    func testABurstOfConnectionsQueuedAtOnceIsServedInFull() throws {
        let (_, ready) = try start(workers: 1)
        // Connected before any request is sent: they wait in the listener's queue together, so the worker takes
        // them in batches (up to 64 per wake-up) and must neither lose one nor stall on an empty queue.
        let connections = try (0..<150).map { _ in try TestConnection(port: ready.port, timeoutSeconds: 10) }
        for connection in connections {
            try connection.send("GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        }
        let statuses = connections.map { try? $0.readResponse().status }
        XCTAssertEqual(statuses.filter { $0 == 200 }.count, connections.count, "\(statuses)")
    }

    func testTheAdminListenerCanBeDisabled() throws {
        var environment = GatewayProcess.baseEnvironment(directory: directory)
        environment["ADMIN_PORT"] = "-1"
        let process = try GatewayProcess(arguments: ["--port", "0", "--workers", "1"], environment: environment,
                                         directory: directory)
        processes.append(process)
        let ready = try process.waitForReady()
        XCTAssertEqual(ready.adminPort, -1)
        // The API port still answers for the node.
        let health = try XCTUnwrap(HTTPProbe.get(port: ready.port, path: "/health"))
        XCTAssertEqual(health.status, 200)
        XCTAssertEqual(health.json?["workers"]?["ready"]?.intValue, 1, health.body)
    }

    func testTermDrainsEveryWorkerAndExitsZeroWithNoChildLeft() throws {
        let (process, ready) = try start(workers: 2)
        assertServes(ready, requests: 3)
        let workers = process.workers()
        process.signal(SIGTERM)
        XCTAssertEqual(process.waitForExit(timeout: 15), 0, process.stderr)
        for worker in workers { XCTAssertFalse(ProcessTable.isAlive(worker), "worker \(worker) outlived the master") }
        XCTAssertEqual(ProcessTable.children(of: process.pid), [])
        XCTAssertNil(HTTPProbe.get(port: ready.port, path: "/", timeout: 1), "the listener is closed")
    }

    func testInterruptIsGracefulToo() throws {
        let (process, _) = try start(workers: 1)
        let workers = process.workers()
        process.signal(SIGINT)
        XCTAssertEqual(process.waitForExit(timeout: 15), 0, process.stderr)
        for worker in workers { XCTAssertFalse(ProcessTable.isAlive(worker)) }
    }

    func testQuitKillsEveryWorkerAtOnce() throws {
        let (process, _) = try start(workers: 2)
        let workers = process.workers()
        process.signal(SIGQUIT)
        XCTAssertEqual(process.waitForExit(timeout: 10), 0, process.stderr)
        for worker in workers { XCTAssertFalse(ProcessTable.isAlive(worker)) }
    }

    func testAStuckWorkerIsKilledAtTheDrainTimeout() throws {
        let (process, _) = try start(workers: 2, environment: ["DRAIN_TIMEOUT_SECONDS": "2"])
        let workers = process.workers()
        kill(workers[0], SIGSTOP)  // cannot drain
        let started = Date()
        process.signal(SIGTERM)
        XCTAssertEqual(process.waitForExit(timeout: 15), 0, process.stderr)
        XCTAssertGreaterThanOrEqual(Date().timeIntervalSince(started), 1.5, "waited for the drain timeout")
        for worker in workers { XCTAssertFalse(ProcessTable.isAlive(worker)) }
        XCTAssertFalse(process.logLines(message: "worker did not stop in time, killing it").isEmpty, process.stderr)
    }

    // MARK: - Supervision

    func testAKilledWorkerIsReplacedAndRequestsKeepSucceeding() throws {
        let (process, ready) = try start(workers: 2)
        let before = process.workers()
        let victim = before[0]
        kill(victim, SIGKILL)
        // Connections queued on the dead worker's slot wait for its replacement: nothing fails.
        assertServes(ready, requests: 20)
        let after = process.waitForWorkers(timeout: 5) { $0.count == 2 && !$0.contains(victim) }
        XCTAssertNotNil(after, "not replaced: \(process.workers())")
        XCTAssertNotNil(HTTPProbe.waitForJSON(port: ready.adminPort) { $0["workers"]?["ready"]?.intValue == 2 })
        let metrics = HTTPProbe.get(port: ready.adminPort, path: "/metrics")?.body ?? ""
        XCTAssertTrue(metrics.contains("cerebras_gateway_worker_restarts_total 1\n"), metrics)
        XCTAssertEqual(process.logLines(message: "worker exited unexpectedly").count, 1, process.stderr)
    }

    func testAnUnresponsiveWorkerIsKilledAndReplaced() throws {
        let (process, ready) = try start(workers: 2, environment: ["HEARTBEAT_TIMEOUT_SECONDS": "2"])
        let victim = process.workers()[0]
        kill(victim, SIGSTOP)  // alive, but its event loop no longer turns
        let after = process.waitForWorkers(timeout: 15) { $0.count == 2 && !$0.contains(victim) }
        XCTAssertNotNil(after, "not replaced: \(process.workers()); stderr:\n\(process.stderr)")
        XCTAssertFalse(ProcessTable.isAlive(victim))
        XCTAssertFalse(process.logLines(message: "worker unresponsive, killing it").isEmpty, process.stderr)
        assertServes(ready, requests: 5)
    }

    func testBootFailureExitsThreeWithoutARespawnLoop() throws {
        let process = try launch(workers: 2, environment: ["CGW_TEST_FAIL_BOOT": "1"])
        XCTAssertEqual(process.waitForExit(timeout: 20), 3, process.stderr)
        XCTAssertFalse(process.stdout.contains("READY"))
        XCTAssertLessThanOrEqual(process.logLines(message: "spawned worker").count, 2, "respawned: \(process.stderr)")
        XCTAssertEqual(ProcessTable.children(of: process.pid), [])
    }

    func testAWorkerThatCannotOpenLibcurlIsABootFailureNamingIt() throws {
        let process = try launch(workers: 2, environment: ["CGW_TEST_LIBCURL": "libcurl-absent.so.4"])
        XCTAssertEqual(process.waitForExit(timeout: 20), 3, process.stderr)
        XCTAssertFalse(process.stdout.contains("READY"))
        let failures = process.logLines(message: "worker cannot start")
        XCTAssertFalse(failures.isEmpty, process.stderr)
        XCTAssertTrue(failures.allSatisfy { $0.contains("cannot open libcurl: libcurl-absent.so.4") },
                      "\(failures)")
        XCTAssertEqual(ProcessTable.children(of: process.pid), [])
    }

    func testWorkersExitWhenTheMasterIsKilled() throws {
        let (process, _) = try start(workers: 2)
        let workers = process.workers()
        process.signal(SIGKILL)
        XCTAssertEqual(process.waitForExit(timeout: 5), 128 + SIGKILL)
        _ = eventually(within: 10, every: 0.05) { !workers.contains(where: ProcessTable.isAlive) }
        for worker in workers { XCTAssertFalse(ProcessTable.isAlive(worker), "orphan worker \(worker) still runs") }
    }

    func testTTINAddsAWorkerAndTTOURemovesOne() throws {
        let (process, ready) = try start(workers: 2)
        process.signal(SIGTTIN)
        XCTAssertNotNil(process.waitForWorkers { $0.count == 3 })
        XCTAssertNotNil(HTTPProbe.waitForJSON(port: ready.adminPort) {
            $0["workers"]?["configured"]?.intValue == 3 && $0["workers"]?["ready"]?.intValue == 3
        })
        process.signal(SIGTTOU)
        usleep(200_000)
        process.signal(SIGTTOU)
        usleep(200_000)
        process.signal(SIGTTOU)  // would go below one: ignored
        XCTAssertNotNil(process.waitForWorkers { $0.count == 1 }, "\(process.workers())")
        XCTAssertNotNil(HTTPProbe.waitForJSON(port: ready.adminPort) {
            $0["workers"]?["configured"]?.intValue == 1 && $0["workers"]?["alive"]?.intValue == 1
        })
        assertServes(ready, requests: 5)
    }

    func testUSR1ReopensLogsAndKeepsEveryWorker() throws {
        let logFile = directory + "/gateway.log"
        let (process, ready) = try start(workers: 2, environment: ["LOG_FILE": logFile])
        let workers = process.workers()
        try FileManager.default.moveItem(atPath: logFile, toPath: logFile + ".1")  // logrotate
        process.signal(SIGUSR1)
        _ = eventually(every: 0.05) { FileManager.default.fileExists(atPath: logFile) }
        XCTAssertTrue(FileManager.default.fileExists(atPath: logFile), "the master reopened its log file")
        usleep(500_000)
        XCTAssertEqual(process.workers(), workers, "USR1 must not kill workers")
        assertServes(ready, requests: 3)
    }

    // MARK: - Reload

    func testReloadsUnderLoadLoseNoRequestAndReplaceEveryWorker() throws {
        let (process, ready) = try start(workers: 2)
        let load = LoadLoop(port: ready.port, path: "/")
        var previous = Set(process.workers())
        for reload in 1...3 {
            let generation = reload + 1
            process.signal(SIGHUP)
            let reloaded = HTTPProbe.waitForJSON(port: ready.adminPort) {
                $0["generation"]?.intValue == generation && $0["workers"]?["alive"]?.intValue == 2
            }
            XCTAssertNotNil(reloaded, "generation \(generation) never settled: \(String(describing: health(ready)))")
            let current = try XCTUnwrap(process.waitForWorkers { $0.count == 2 && previous.isDisjoint(with: $0) })
            previous = Set(current)
        }
        usleep(300_000)
        let (successes, failures) = load.stop()
        XCTAssertEqual(failures, [], "failed requests during reloads")
        XCTAssertGreaterThan(successes, 20)
        let admin = try XCTUnwrap(health(ready))
        XCTAssertEqual(admin["last_reload"]?["result"]?.stringValue, "success")
        let metrics = HTTPProbe.get(port: ready.adminPort, path: "/metrics")?.body ?? ""
        XCTAssertTrue(metrics.contains("cerebras_gateway_reloads_total{result=\"success\"} 3\n"), metrics)
        XCTAssertTrue(metrics.contains("cerebras_gateway_worker_restarts_total 0\n"),
                      process.logLines(message: "worker exited unexpectedly").joined(separator: "\n"))
    }

    func testAnInvalidReloadKeepsTheOldGenerationServing() throws {
        let (process, ready) = try start(workers: 2)
        let workers = process.workers()
        // (Not a key of the test environment: the environment outranks the file.)
        try "UPSTREAM_MAX_RETRIES=many\n".write(toFile: envFile, atomically: true, encoding: .utf8)
        process.signal(SIGHUP)
        let failed = HTTPProbe.waitForJSON(port: ready.adminPort) {
            $0["last_reload"]?["result"]?.stringValue == "failure"
        }
        XCTAssertEqual(failed?["generation"]?.intValue, 1)
        XCTAssertEqual(failed?["status"]?.stringValue, "ok")
        XCTAssertTrue(failed?["last_reload"]?["error"]?.stringValue?.contains("UPSTREAM_MAX_RETRIES") ?? false,
                      "\(String(describing: failed))")
        XCTAssertNotNil(failed?["last_reload"]?["at"]?.stringValue)
        XCTAssertEqual(process.workers(), workers, "the old generation keeps serving")
        assertServes(ready, requests: 5)
        let metrics = HTTPProbe.get(port: ready.adminPort, path: "/metrics")?.body ?? ""
        XCTAssertTrue(metrics.contains("cerebras_gateway_reloads_total{result=\"failure\"} 1\n"), metrics)

        // Fixed: the next HUP succeeds, and the file's WORKERS is honoured.
        try "UPSTREAM_MAX_RETRIES=1\nWORKERS=3\n".write(toFile: envFile, atomically: true, encoding: .utf8)
        process.signal(SIGHUP)
        let reloaded = HTTPProbe.waitForJSON(port: ready.adminPort) {
            $0["last_reload"]?["result"]?.stringValue == "success"
        }
        XCTAssertEqual(reloaded?["generation"]?.intValue, 2)
        // The command-line --workers 2 outranks the file: precedence holds across reloads.
        XCTAssertEqual(reloaded?["workers"]?["configured"]?.intValue, 2)
    }

    func testAReloadChangingTheWorkerCountIsHonoured() throws {
        try "WORKERS=2\n".write(toFile: envFile, atomically: true, encoding: .utf8)
        let process = try GatewayProcess(
            arguments: ["--port", "0", "--admin-port", "0"],
            environment: GatewayProcess.baseEnvironment(directory: directory), directory: directory)
        processes.append(process)
        let ready = try process.waitForReady()
        try "WORKERS=3\n".write(toFile: envFile, atomically: true, encoding: .utf8)
        process.signal(SIGHUP)
        XCTAssertNotNil(HTTPProbe.waitForJSON(port: ready.adminPort) {
            $0["generation"]?.intValue == 2 && $0["workers"]?["configured"]?.intValue == 3
                && $0["workers"]?["alive"]?.intValue == 3
        })
        XCTAssertNotNil(process.waitForWorkers { $0.count == 3 })
        try "WORKERS=1\n".write(toFile: envFile, atomically: true, encoding: .utf8)
        process.signal(SIGHUP)
        XCTAssertNotNil(HTTPProbe.waitForJSON(port: ready.adminPort) {
            $0["generation"]?.intValue == 3 && $0["workers"]?["alive"]?.intValue == 1
        })
        assertServes(ready, requests: 5)
    }

    // MARK: - systemd

    func testSystemdNotifications() throws {
        let socket = try NotifyListener(path: directory + "/notify.sock")
        defer { socket.close() }
        let (process, _) = try start(workers: 1, environment: [
            "NOTIFY_SOCKET": socket.path, "WATCHDOG_USEC": "400000",
        ])
        XCTAssertNotNil(socket.receive(until: { $0.contains("READY=1") }, timeout: 5))
        XCTAssertNotNil(socket.receive(until: { $0 == "WATCHDOG=1" }, timeout: 5), "watchdog keep-alive")
        process.signal(SIGHUP)
        let reload = try XCTUnwrap(socket.receive(until: { $0.contains("READY=1") }, timeout: 10))
        XCTAssertTrue(reload.contains { $0.hasPrefix("RELOADING=1\nMONOTONIC_USEC=") }, "\(reload)")
        process.signal(SIGTERM)
        XCTAssertNotNil(socket.receive(until: { $0.hasPrefix("STOPPING=1") }, timeout: 5))
        XCTAssertEqual(process.waitForExit(timeout: 15), 0)
    }

    // MARK: - Errors

    func testAPortInUseExitsOneWithAClearMessage() throws {
        let (fd, port) = try Self.occupyPort()
        defer { close(fd) }
        let result = try run(["--port", String(port), "--admin-port", "0", "--workers", "1"])
        XCTAssertEqual(result.code, 1)
        XCTAssertTrue(result.stderr.contains("already in use"), result.stderr)
        XCTAssertTrue(result.stderr.contains("\"level\":\"error\""), "one JSON log line too: \(result.stderr)")
        XCTAssertFalse(result.stderr.contains("Fatal error"), result.stderr)
    }

    func testAnAdminPortInUseExitsOneWithAClearMessage() throws {
        let (fd, port) = try Self.occupyPort()
        defer { close(fd) }
        let result = try run(["--port", "0", "--admin-port", String(port), "--workers", "1"])
        XCTAssertEqual(result.code, 1)
        XCTAssertTrue(result.stderr.contains("ADMIN_PORT \(port)"), result.stderr)
        XCTAssertTrue(result.stderr.contains("already in use"), result.stderr)
    }

    func testAnInvalidConfigurationExitsWithEXCONFIGNamingTheOption() throws {
        let result = try run(["--port", "0", "--workers", "0"])
        XCTAssertEqual(result.code, 78)
        XCTAssertTrue(result.stderr.contains("WORKERS"), result.stderr)
        XCTAssertTrue(result.stderr.contains("invalid configuration"), result.stderr)
    }

    func testCheckConfig() throws {
        let good = try run(["check-config", "--port", "0"])
        XCTAssertEqual(good.code, 0, good.stderr)
        XCTAssertEqual(good.stdout, "configuration OK\n")
        let bad = try run(["check-config", "--log-level", "loud"])
        XCTAssertEqual(bad.code, 1)
        XCTAssertTrue(bad.stderr.contains("LOG_LEVEL"), bad.stderr)
        let unknown = try run(["check-config", "--no-such-option", "1"])
        XCTAssertEqual(unknown.code, 1)
        XCTAssertTrue(unknown.stderr.contains("--no-such-option"), unknown.stderr)
    }

    func testVersionAndHelp() throws {
        let version = try run(["--version"])
        XCTAssertEqual(version.code, 0)
        XCTAssertTrue(version.stdout.hasPrefix("cerebras-gateway "), version.stdout)
        let help = try run(["--help"])
        XCTAssertEqual(help.code, 0)
        XCTAssertTrue(help.stdout.contains("--drain-timeout-seconds"), help.stdout)
    }

    // MARK: - Helpers

    /// A plain (not SO_REUSEPORT) listener on a free loopback port.
    static func occupyPort() throws -> (Int32, Int) {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0, let port = Loopback.listen(fd, backlog: 8) else { throw Failure("cannot occupy a port") }
        return (fd, port)
    }
}

/// One value handed from a background thread.
