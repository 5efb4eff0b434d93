import Foundation
import Glibc
import Shared
import TestSupport

/// A minimal blocking HTTP/1.1 client on plain POSIX sockets: one request per connection (`Connection: close`), so
/// every request exercises the listener hand-off rather than a kept-alive connection.
enum HTTPProbe {
    struct Response {
        var status: Int
        var headers: [String: String]
        var body: String

        var json: JSONValue? { try? JSONParser.parse(body) }
    }

    /// nil on any transport failure (refused, reset, timeout, malformed answer).
    static func get(port: Int, path: String, timeout: Double = 10) -> Response? {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var time = timeval(tv_sec: Int(timeout), tv_usec: Int((timeout - timeout.rounded(.down)) * 1_000_000))
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &time, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &time, socklen_t(MemoryLayout<timeval>.size))
        guard Loopback.connect(fd, port: port) == 0 else { return nil }
        let request = Array("GET \(path) HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nConnection: close\r\n\r\n".utf8)
        guard send(fd, request, request.count, Int32(MSG_NOSIGNAL)) == request.count else { return nil }
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 16384)
        while true {
            let count = recv(fd, &buffer, buffer.count, 0)
            if count < 0, errno == EINTR { continue }
            guard count >= 0 else { return nil }
            if count == 0 { break }
            received += buffer[0..<count]
        }
        return parse(received)
    }

    static func parse(_ bytes: [UInt8]) -> Response? {
        let text = String(decoding: bytes, as: UTF8.self)
        guard let split = text.range(of: "\r\n\r\n") else { return nil }
        let lines = text[..<split.lowerBound].split(separator: "\r\n")
        guard let statusLine = lines.first, statusLine.hasPrefix("HTTP/1."),
            let status = Int(statusLine.split(separator: " ").dropFirst().first ?? "")
        else { return nil }
        var headers: [String: String] = [:]
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            let value = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            headers[line[..<colon].lowercased()] = value
        }
        var body = String(text[split.upperBound...])
        if let length = headers["content-length"].flatMap(Int.init) {
            guard body.utf8.count >= length else { return nil }  // truncated
            body = String(decoding: Array(body.utf8.prefix(length)), as: UTF8.self)
        }
        return Response(status: status, headers: headers, body: body)
    }

    /// Polls `GET path` on the admin port until `condition` holds; returns the last JSON seen when it does.
    static func waitForJSON(port: Int, path: String = "/health", timeout: Double = 15,
                            _ condition: (JSONValue) -> Bool) -> JSONValue? {
        let deadline = Date().addingTimeInterval(timeout)
        repeat {
            if let json = get(port: port, path: path, timeout: 2)?.json, condition(json) { return json }
            usleep(50_000)
        } while Date() < deadline
        return nil
    }
}

/// Sequential requests on background threads until stopped, counting the outcomes.
final class LoadLoop: @unchecked Sendable {
    private let lock = NSLock()
    private var _successes = 0
    private var _failures: [String] = []
    private var stopped = false
    private let group = DispatchGroup()

    init(port: Int, path: String, clients: Int = 2) {
        for _ in 0..<clients {
            group.enter()
            Thread.detachNewThread { [self] in
                while !lock.withLock({ stopped }) {
                    let response = HTTPProbe.get(port: port, path: path, timeout: 15)
                    lock.withLock {
                        if response?.status == 200 {
                            _successes += 1
                        } else {
                            _failures.append(response.map { "status \($0.status)" } ?? "transport error")
                        }
                    }
                }
                group.leave()
            }
        }
    }

    /// Stops and waits for the requests in flight.
    func stop() -> (successes: Int, failures: [String]) {
        lock.withLock { stopped = true }
        group.wait()
        return lock.withLock { (_successes, _failures) }
    }

    var successes: Int { lock.withLock { _successes } }
}

/// A bound AF_UNIX datagram socket standing in for systemd's notification socket.
final class NotifyListener {
    let path: String
    private let fd: Int32

    init(path: String) throws {
        self.path = path
        unlink(path)
        fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (index, byte) in bytes.enumerated() where index < raw.count - 1 { raw[index] = byte }
        }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        guard fd >= 0, bound == 0 else { throw Failure("cannot bind \(path): \(String(cString: strerror(errno)))") }
    }

    /// The next datagram, or nil after `timeout` seconds.
    func receive(timeout: Double) -> String? {
        var descriptor = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        guard poll(&descriptor, 1, Int32(timeout * 1000)) == 1 else { return nil }
        var buffer = [UInt8](repeating: 0, count: 4096)
        let count = recv(fd, &buffer, buffer.count, 0)
        guard count > 0 else { return nil }
        return String(decoding: buffer[0..<count], as: UTF8.self)
    }

    /// Datagrams until one satisfies `condition` (returned with everything before it), or nil after `timeout`.
    func receive(until condition: (String) -> Bool, timeout: Double) -> [String]? {
        let deadline = Date().addingTimeInterval(timeout)
        var messages: [String] = []
        while Date() < deadline {
            guard let message = receive(timeout: max(0.01, deadline.timeIntervalSinceNow)) else { continue }
            messages.append(message)
            if condition(message) { return messages }
        }
        return nil
    }

    func close() {
        Glibc.close(fd)
        unlink(path)
    }
}
