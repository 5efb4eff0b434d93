import Glibc

/// The systemd notification protocol, written directly (no libsystemd): one datagram per state change to the
/// AF_UNIX socket named by `NOTIFY_SOCKET` (a path, or an abstract name written with a leading `@`).
///
/// `Type=notify` units wait for `READY=1`; `Type=notify-reload` units also expect `RELOADING=1` with
/// `MONOTONIC_USEC` on SIGHUP and `READY=1` when the reload is done. With `WatchdogSec=`, systemd sets
/// `WATCHDOG_USEC` and kills the service unless `WATCHDOG=1` arrives at least that often; the master loop sends it
/// every half period.
final class SystemdNotifier {
    private let descriptor: Int32
    private let address: [UInt8]
    /// Half the watchdog period, when systemd asked for keep-alives addressed to this process.
    let watchdogInterval: Double?

    /// nil when `NOTIFY_SOCKET` is unset or unusable.
    init?(environment: [String: String], pid: pid_t = getpid()) {
        guard let name = environment["NOTIFY_SOCKET"], let address = Self.socketAddress(name) else { return nil }
        let descriptor = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard descriptor >= 0 else { return nil }
        self.descriptor = SlotListeners.moveAbove(descriptor)
        self.address = address
        watchdogInterval = Self.watchdogInterval(environment: environment, pid: pid)
    }

    deinit { close(descriptor) }

    /// Sends `KEY=value` lines in one datagram. Best effort: systemd being away must not stop the gateway.
    @discardableResult
    func notify(_ fields: [String]) -> Bool {
        let message = Array(fields.joined(separator: "\n").utf8)
        let sent = address.withUnsafeBytes { addressBytes in
            message.withUnsafeBytes { messageBytes in
                sendto(descriptor, messageBytes.baseAddress, messageBytes.count, Int32(MSG_NOSIGNAL),
                       addressBytes.baseAddress!.assumingMemoryBound(to: sockaddr.self), socklen_t(addressBytes.count))
            }
        }
        return sent == message.count
    }

    func ready(status: String) { notify(["READY=1", "STATUS=\(status)"]) }

    func reloading(status: String) {
        notify(["RELOADING=1", "MONOTONIC_USEC=\(Self.monotonicMicroseconds())", "STATUS=\(status)"])
    }

    func stopping(status: String) { notify(["STOPPING=1", "STATUS=\(status)"]) }

    func status(_ text: String) { notify(["STATUS=\(text)"]) }

    func watchdog() { notify(["WATCHDOG=1"]) }

    /// The variables a worker must not see: it would otherwise talk to systemd as if it were the service.
    static let environmentKeys = ["NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID"]

    // MARK: - Parsing

    /// `sockaddr_un` bytes for a path or an `@abstract` name (the length excludes a trailing NUL for abstract
    /// names, which may contain any byte).
    static func socketAddress(_ name: String) -> [UInt8]? {
        var path = Array(name.utf8)
        guard !path.isEmpty, path[0] == UInt8(ascii: "/") || path[0] == UInt8(ascii: "@") else { return nil }
        let abstract = path[0] == UInt8(ascii: "@")
        if abstract { path[0] = 0 }
        let pathCapacity = MemoryLayout.size(ofValue: sockaddr_un().sun_path)
        guard path.count < pathCapacity || (abstract && path.count <= pathCapacity) else { return nil }
        let family = sa_family_t(AF_UNIX)
        var bytes = withUnsafeBytes(of: family) { Array($0) }
        bytes += path
        if !abstract { bytes.append(0) }
        return bytes
    }

    /// `WATCHDOG_USEC / 2` in seconds, if set, positive, and meant for `pid` (`WATCHDOG_PID` absent or equal).
    static func watchdogInterval(environment: [String: String], pid: pid_t) -> Double? {
        guard let text = environment["WATCHDOG_USEC"], let microseconds = UInt64(text), microseconds > 0 else {
            return nil
        }
        if let target = environment["WATCHDOG_PID"], Int32(target) != pid { return nil }
        return Double(microseconds) / 2_000_000
    }

    static func monotonicMicroseconds() -> UInt64 {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return UInt64(now.tv_sec) * 1_000_000 + UInt64(now.tv_nsec) / 1000
    }
}
