import Foundation
import Shared
import TestSupport

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A throwaway `redis-server` on a free loopback port, started by a test and stopped by PID.
///
/// `@unchecked Sendable` so teardown blocks can capture it: XCTest runs a test, its setUp and its
/// teardown blocks on one thread, which is the only one that touches `process`.
final class RedisServerProcess: @unchecked Sendable {
    struct StartError: Error, CustomStringConvertible {
        var description: String
    }

    let port: Int
    /// Where the server also listens (owner only) when created with `unixSocket: true`.
    let socketPath: String
    private let extraArguments: [String]
    private let directory: URL
    private var process: Process?

    /// Picks a free port; `extraArguments` are appended to the command line (e.g. `--requirepass`); with
    /// `unixSocket` the server also listens on `socketPath`.
    init(extraArguments: [String] = [], unixSocket: Bool = false) throws {
        self.port = try Self.freePort()
        self.directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("cgw-redis-test-\(getpid())-\(self.port)-\(UInt32.random(in: 0...UInt32.max))")
        self.socketPath = self.directory.appendingPathComponent("redis.sock").path
        let socketArguments = unixSocket ? ["--unixsocket", self.socketPath, "--unixsocketperm", "700"] : []
        self.extraArguments = extraArguments + socketArguments
        try FileManager.default.createDirectory(at: self.directory, withIntermediateDirectories: true)
    }

    deinit {
        self.stop()
        self.removeFiles()
    }

    /// Deletes the server's working directory (its log); call after the last `stop()`.
    func removeFiles() {
        try? FileManager.default.removeItem(at: self.directory)
    }

    /// `redis://127.0.0.1:<port>` with optional credentials and database.
    func url(password: String? = nil, username: String? = nil, database: Int = 0) -> RedisURL {
        RedisURL(host: "127.0.0.1", port: self.port, database: database, username: username, password: password)
    }

    var pid: Int32? { self.process?.processIdentifier }

    /// Starts the server (again, on the same port) and waits until it accepts connections.
    func start() throws {
        guard self.process == nil else { return }
        guard let executable = Self.findExecutable("redis-server") else {
            throw StartError(description: "redis-server not found on PATH; install the redis-server package")
        }
        let process = Process()
        process.executableURL = executable
        process.arguments =
            [
                "--port", String(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                "--daemonize", "no", "--dir", self.directory.path,
                "--logfile", self.directory.appendingPathComponent("redis.log").path,
            ] + self.extraArguments
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        self.process = process

        let deadline = Date().addingTimeInterval(15)
        while Date() < deadline {
            guard process.isRunning else {
                self.process = nil
                let log = (try? String(contentsOf: self.directory.appendingPathComponent("redis.log"), encoding: .utf8))
                throw StartError(description: "redis-server exited during startup: \(log ?? "no log")")
            }
            if Self.canConnect(port: self.port) { return }
            usleep(20_000)
        }
        self.stop()
        throw StartError(description: "redis-server did not listen on port \(self.port) within 15 s")
    }

    /// Kills the server by PID (SIGKILL: nothing is persisted anyway) and reaps it.
    func stop() {
        guard let process = self.process else { return }
        self.process = nil
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
        }
        process.waitUntilExit()
    }

    // MARK: - Helpers

    private static func findExecutable(_ name: String) -> URL? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        let candidates = path.split(separator: ":").map(String.init) + ["/usr/bin", "/usr/sbin", "/usr/local/bin"]
        for directory in candidates {
            let candidate = URL(fileURLWithPath: directory).appendingPathComponent(name)
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
        }
        return nil
    }

    /// Asks the kernel for an unused loopback port by binding port 0.
    static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw StartError(description: "socket() failed: \(errno)") }
        defer { close(fd) }
        guard let port = Loopback.listen(fd, backlog: 1) else {
            throw StartError(description: "bind, listen or getsockname failed: \(errno)")
        }
        return port
    }

    private static func canConnect(port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        return Loopback.connect(fd, port: port) == 0
    }
}
