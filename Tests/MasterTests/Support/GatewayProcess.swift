import Foundation
import Glibc
import XCTest

/// The built `cerebras-gateway` binary run as a real process, in its own process group, with stdout on a pipe (for
/// the readiness line) and stderr in a file (for assertions and post-mortems).
final class GatewayProcess {
    struct Ready: Equatable {
        var port: Int
        var adminPort: Int
        var pid: pid_t
    }

    let pid: pid_t
    let stderrPath: String
    private let stdoutDescriptor: Int32
    private var stdoutBuffer: [UInt8] = []
    private var exitStatus: Int32?
    /// Every worker pid ever seen, so teardown can kill stragglers by pid.
    private var knownWorkers: Set<pid_t> = []

    /// The environment every test starts from: a valid configuration on loopback, nothing from the caller's
    /// environment that could change the configuration (PORT, .env in the working directory, NOTIFY_SOCKET…).
    static func baseEnvironment(directory: String) -> [String: String] {
        var environment: [String: String] = [
            "ALLOW_UNAUTHENTICATED": "true", "CEREBRAS_API_KEY": "test", "CEREBRAS_BASE_URL": "http://127.0.0.1:9",
            "HOST": "127.0.0.1", "ADMIN_HOST": "127.0.0.1", "LOG_LEVEL": "info", "DRAIN_TIMEOUT_SECONDS": "10",
            "ENV_FILE": directory + "/gateway.env",
        ]
        // Sanitizer settings reach the gateway under test (scripts/sanitizers.sh).
        for key in ["PATH", "HOME", "LANG", "TMPDIR", "ASAN_OPTIONS", "LSAN_OPTIONS", "TSAN_OPTIONS"] {
            if let value = ProcessInfo.processInfo.environment[key] { environment[key] = value }
        }
        return environment
    }

    /// The binary next to the test bundle (`swift build` puts both in the same directory); `CGW_BINARY` overrides.
    static func binaryPath() throws -> String {
        if let path = ProcessInfo.processInfo.environment["CGW_BINARY"] { return path }
        let bundle = Bundle(for: GatewayProcess.self).bundleURL
        let candidates = [
            bundle.deletingLastPathComponent().appendingPathComponent("cerebras-gateway").path,
            bundle.appendingPathComponent("cerebras-gateway").path,
        ]
        guard let path = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
            throw XCTSkip("cerebras-gateway binary not found (looked at \(candidates)); build it or set CGW_BINARY")
        }
        return path
    }

    init(arguments: [String], environment: [String: String], directory: String) throws {
        let binary = try Self.binaryPath()
        stderrPath = directory + "/stderr-\(UUID().uuidString.prefix(8)).log"
        var pipeDescriptors: [Int32] = [-1, -1]
        guard pipe(&pipeDescriptors) == 0 else { throw POSIXError(.EMFILE) }
        _ = fcntl(pipeDescriptors[0], F_SETFD, FD_CLOEXEC)
        _ = fcntl(pipeDescriptors[0], F_SETFL, O_NONBLOCK)

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, pipeDescriptors[1], 1)
        posix_spawn_file_actions_addopen(&actions, 2, stderrPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        if let closeFrom = Self.addCloseFrom { _ = closeFrom(&actions, 3) }

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var empty = sigset_t()
        sigemptyset(&empty)
        var all = sigset_t()
        sigfillset(&all)
        posix_spawnattr_setsigmask(&attributes, &empty)
        posix_spawnattr_setsigdefault(&attributes, &all)
        posix_spawnattr_setpgroup(&attributes, 0)
        posix_spawnattr_setflags(&attributes,
                                 Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETPGROUP))

        let argv = ([binary] + arguments).map { strdup($0) } + [nil]
        let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            for pointer in argv { free(pointer) }
            for pointer in envp { free(pointer) }
        }
        var pid: pid_t = 0
        let status = posix_spawn(&pid, binary, &actions, &attributes, argv, envp)
        close(pipeDescriptors[1])
        guard status == 0 else {
            close(pipeDescriptors[0])
            throw POSIXError(POSIXErrorCode(rawValue: status) ?? .EINVAL)
        }
        self.pid = pid
        stdoutDescriptor = pipeDescriptors[0]
    }

    deinit {
        terminate()
        close(stdoutDescriptor)
    }

    // MARK: - Output

    /// Waits for `READY port=… admin_port=… pid=…` on stdout.
    func waitForReady(timeout: Double = 30) throws -> Ready {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            readStdout(wait: 0.05)
            let text = String(decoding: stdoutBuffer, as: UTF8.self)
            if let line = text.split(separator: "\n").first(where: { $0.hasPrefix("READY ") }) {
                var fields: [String: String] = [:]
                for pair in line.split(separator: " ").dropFirst() {
                    let parts = pair.split(separator: "=", maxSplits: 1)
                    if parts.count == 2 { fields[String(parts[0])] = String(parts[1]) }
                }
                guard let port = fields["port"].flatMap(Int.init), let admin = fields["admin_port"].flatMap(Int.init),
                    let pid = fields["pid"].flatMap(pid_t.init)
                else { throw Failure("malformed readiness line: \(line)") }
                return Ready(port: port, adminPort: admin, pid: pid)
            }
            if hasExited { throw Failure("exited (\(exitDescription)) before READY; stderr:\n\(stderr)") }
        }
        throw Failure("no READY within \(timeout) s; stdout: \(String(decoding: stdoutBuffer, as: UTF8.self)); "
                      + "stderr:\n\(stderr)")
    }

    var stdout: String {
        readStdout(wait: 0)
        return String(decoding: stdoutBuffer, as: UTF8.self)
    }

    var stderr: String { (try? String(contentsOfFile: stderrPath, encoding: .utf8)) ?? "" }

    /// The JSON log lines (stderr) whose `msg` is `message`.
    func logLines(message: String) -> [String] {
        stderr.split(separator: "\n").map(String.init).filter { $0.contains("\"msg\":\"\(message)\"") }
    }

    private func readStdout(wait: Double) {
        var descriptor = pollfd(fd: stdoutDescriptor, events: Int16(POLLIN), revents: 0)
        _ = poll(&descriptor, 1, Int32(wait * 1000))
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = read(stdoutDescriptor, &buffer, buffer.count)
            guard count > 0 else { break }
            stdoutBuffer += buffer[0..<count]
        }
    }

    // MARK: - Process state

    func signal(_ number: Int32) {
        kill(pid, number)
    }

    var hasExited: Bool {
        if exitStatus != nil { return true }
        var status: Int32 = 0
        if waitpid(pid, &status, WNOHANG) == pid { exitStatus = status }
        return exitStatus != nil
    }

    /// The exit code if it exited normally, or 128 + the signal.
    var exitCode: Int32? {
        guard hasExited, let status = exitStatus else { return nil }
        return status & 0x7f == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
    }

    var exitDescription: String { exitCode.map { "exit code \($0)" } ?? "running" }

    /// Waits for the process to exit; returns its exit code, or nil on timeout.
    func waitForExit(timeout: Double) -> Int32? {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if hasExited { return exitCode }
            usleep(20_000)
        }
        return hasExited ? exitCode : nil
    }

    /// The master's live child processes (zombies excluded).
    func workers() -> [pid_t] {
        let children = ProcessTable.children(of: pid)
        knownWorkers.formUnion(children)
        return children
    }

    /// Polls until `condition(workers())` holds; returns the last worker list.
    @discardableResult
    func waitForWorkers(timeout: Double = 10, _ condition: ([pid_t]) -> Bool) -> [pid_t]? {
        let deadline = Date().addingTimeInterval(timeout)
        repeat {
            let current = workers()
            if condition(current) { return current }
            usleep(20_000)
        } while Date() < deadline
        return nil
    }

    /// Kills the whole process group and every worker seen, then reaps the master.
    func terminate() {
        _ = workers()
        if !hasExited {
            kill(-pid, SIGKILL)
            kill(pid, SIGKILL)
        }
        for worker in knownWorkers where ProcessTable.isAlive(worker) { kill(worker, SIGKILL) }
        _ = waitForExit(timeout: 5)
    }

    private typealias AddCloseFrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>?, Int32) -> Int32
    private static let addCloseFrom: AddCloseFrom? = {
        guard let symbol = dlsym(nil, "posix_spawn_file_actions_addclosefrom_np") else { return nil }
        return unsafeBitCast(symbol, to: AddCloseFrom.self)
    }()
}

struct Failure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Reads /proc.
enum ProcessTable {
    /// (parent pid, state letter) of a process, nil when it does not exist.
    static func stat(_ pid: pid_t) -> (parent: pid_t, state: Character)? {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let close = text.lastIndex(of: ")")
        else { return nil }
        // "pid (comm) state ppid …": comm may contain spaces and parentheses, so parse after the last ')'.
        let fields = text[text.index(after: close)...].split(separator: " ")
        guard fields.count > 2, let state = fields[0].first, let parent = pid_t(fields[1]) else { return nil }
        return (parent, state)
    }

    /// Alive and not a zombie.
    static func isAlive(_ pid: pid_t) -> Bool {
        guard let stat = stat(pid) else { return false }
        return stat.state != "Z" && stat.state != "X"
    }

    static func children(of parent: pid_t) -> [pid_t] {
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc") else { return [] }
        return entries.compactMap { pid_t($0) }.filter { pid in
            guard let stat = stat(pid) else { return false }
            return stat.parent == parent && stat.state != "Z" && stat.state != "X"
        }.sorted()
    }
}
