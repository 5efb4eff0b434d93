import Foundation

/// The scriptable fake Cerebras (`fake-cerebras`) as a real process on a loopback port.
public final class FakeUpstream {
    public let process = Process()
    public let port: Int

    public static var binaryDirectory: URL {
        if let override = ProcessInfo.processInfo.environment["CGW_BIN_DIR"] { return URL(fileURLWithPath: override) }
        // The test bundle sits in the build products directory next to the executables.
        var url = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        while url.pathComponents.count > 1, !url.lastPathComponent.hasSuffix(".xctest") { url.deleteLastPathComponent() }
        return url.deletingLastPathComponent()
    }

    public init(threads: Int = 1) throws {
        process.executableURL = FakeUpstream.binaryDirectory.appendingPathComponent("fake-cerebras")
        process.arguments = ["--port", "0", "--host", "127.0.0.1", "--threads", String(threads)]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        port = try FakeUpstream.readPort(output.fileHandleForReading, prefix: "LISTENING ")
    }

    public static func readPort(_ handle: FileHandle, prefix: String) throws -> Int {
        var line = ""
        while !line.hasSuffix("\n") {
            let byte = handle.readData(ofLength: 1)
            guard !byte.isEmpty else { throw TestError("process exited before announcing its port") }
            line += String(decoding: byte, as: UTF8.self)
        }
        guard line.hasPrefix(prefix), let port = Int(line.dropFirst(prefix.count).prefix { $0.isNumber }) else {
            throw TestError("unexpected first line: \(line)")
        }
        return port
    }

    public var baseURL: String { "http://127.0.0.1:\(port)/v1" }

    public func stats() throws -> [String: Any] {
        let response = try httpRequest(port: port, method: "GET", path: "/fake/stats")
        return (try response.json() as? [String: Any]) ?? [:]
    }

    public func stop() {
        guard process.isRunning else { return }
        kill(process.processIdentifier, SIGTERM)
        process.waitUntilExit()
    }

    deinit { stop() }
}

