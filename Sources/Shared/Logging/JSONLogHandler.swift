#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Logging
import NIOConcurrencyHelpers

/// Writes one JSON object per log line: `{"ts":…,"level":…,"msg":…,"logger":…, metadata…}`.
///
/// Metadata keys are dotted (`request.id`, `worker.slot`); callers never put keys or prompt text in them.
public struct JSONLogHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level
    private let label: String
    private let output: LogOutput

    public init(label: String, level: Logger.Level, output: LogOutput = .shared) {
        self.label = label
        logLevel = level
        self.output = output
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var writer = JSONWriter(capacity: 256)
        writer.raw("{\"ts\":")
        writer.string(LogOutput.timestamp())
        writer.raw(",\"level\":")
        writer.string(event.level.rawValue)
        writer.raw(",\"msg\":")
        writer.string(event.message.description)
        writer.raw(",\"logger\":")
        writer.string(label)
        var merged = metadata
        if let extra = event.metadata { merged.merge(extra, uniquingKeysWith: { _, new in new }) }
        for key in merged.keys.sorted() {
            writer.raw(",")
            writer.string(key)
            writer.raw(":")
            Self.write(merged[key]!, to: &writer)
        }
        writer.raw("}\n")
        output.write(writer.takeBytes())
    }

    private static func write(_ value: Logger.Metadata.Value, to writer: inout JSONWriter) {
        switch value {
        case .string(let text):
            // Numbers logged as strings stay numbers for machines.
            if let number = Double(text), number.isFinite, !text.hasPrefix("+"), text.first != "." {
                writer.rawText(text)
            } else {
                writer.string(text)
            }
        case .stringConvertible(let convertible):
            writer.string(convertible.description)
        case .array(let values):
            writer.raw("[")
            for (index, element) in values.enumerated() {
                if index > 0 { writer.raw(",") }
                write(element, to: &writer)
            }
            writer.raw("]")
        case .dictionary(let dictionary):
            writer.raw("{")
            for (index, key) in dictionary.keys.sorted().enumerated() {
                if index > 0 { writer.raw(",") }
                writer.string(key)
                writer.raw(":")
                write(dictionary[key]!, to: &writer)
            }
            writer.raw("}")
        }
    }

    /// Installs this handler for the whole process.
    public static func bootstrap(level: String, file: String?) {
        let parsed = Logger.Level(rawValue: level) ?? .info
        if let file { LogOutput.shared.open(path: file) }
        LoggingSystem.bootstrap { label in JSONLogHandler(label: label, level: parsed) }
    }
}

/// Where log lines go: stderr, or an append-only file that `reopen()` swaps (SIGUSR1, after log rotation).
public final class LogOutput: Sendable {
    public static let shared = LogOutput()
    private let descriptor = NIOLockedValueBox<Int32>(STDERR_FILENO)
    private let path = NIOLockedValueBox<String?>(nil)

    public func open(path: String) {
        self.path.withLockedValue { $0 = path }
        reopen()
    }

    /// Reopens the log file (after logrotate moved it). No-op when logging to stderr.
    public func reopen() {
        guard let path = path.withLockedValue({ $0 }) else { return }
        let fd = openForAppending(path)
        guard fd >= 0 else { return }
        let old = descriptor.withLockedValue { current -> Int32 in
            defer { current = fd }
            return current
        }
        if old != STDERR_FILENO { close(old) }
    }

    func write(_ bytes: [UInt8]) {
        descriptor.withLockedValue { fd in FileDescriptorWriter.writeAll(bytes, to: fd) }
    }

    /// Now in UTC with milliseconds: `2026-11-25T08:00:00.123Z`.
    static func timestamp() -> String {
        let now = WallClock.nowPrecise()
        return RFC3339.format(seconds: now.seconds, milliseconds: now.nanoseconds / 1_000_000)
    }
}

// Outside `LogOutput`, whose own `open(path:)` would hide the C function.
private func openForAppending(_ path: String) -> Int32 {
    open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o640)
}
