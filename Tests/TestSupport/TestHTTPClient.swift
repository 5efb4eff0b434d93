import Foundation

/// A deliberately small blocking HTTP/1.1 client over POSIX sockets, so tests control every byte: slow
/// readers, disconnects mid-stream, raw malformed requests.
public final class TestConnection {
    public let fd: Int32
    private var buffer: [UInt8] = []

    public init(port: Int, timeoutSeconds: Int = 30, receiveBuffer: Int? = nil) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw TestError("socket() failed") }
        if var size = receiveBuffer.map(Int32.init) {
            // Before connect, so the TCP window is negotiated small.
            setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        }
        var timeout = timeval(tv_sec: timeoutSeconds, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        guard Loopback.connect(fd, port: port) == 0 else {
            close(fd)
            throw TestError("connect to 127.0.0.1:\(port) failed: errno \(errno)")
        }
    }

    deinit { close(fd) }

    /// Reads until `marker` appears in what was received; returns everything read.
    public func readUntil(_ marker: String) throws -> String {
        let needle = Array(marker.utf8)
        var scanned = 0
        while true {
            if buffer.count >= needle.count {
                let start = max(0, scanned - needle.count)
                if let _ = buffer[start...].firstRange(of: needle) { return String(decoding: buffer, as: UTF8.self) }
                scanned = buffer.count
            }
            guard try fill() else { throw TestError("EOF before \(marker)") }
        }
    }

    public func send(_ bytes: [UInt8]) throws {
        var offset = 0
        while offset < bytes.count {
            let written = bytes[offset...].withUnsafeBytes { Foundation.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard written > 0 else { throw TestError("send failed: errno \(errno)") }
            offset += written
        }
    }

    public func send(_ text: String) throws { try send(Array(text.utf8)) }

    public func sendRequest(method: String, path: String, headers: [String: String] = [:], body: [UInt8] = []) throws {
        var head = "\(method) \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        var headers = headers
        if !body.isEmpty || method == "POST" { headers["content-length"] = headers["content-length"] ?? String(body.count) }
        for (name, value) in headers.sorted(by: { $0.key < $1.key }) { head += "\(name): \(value)\r\n" }
        head += "\r\n"
        try send(Array(head.utf8) + body)
    }

    /// Reads more bytes; false at EOF.
    @discardableResult
    public func fill() throws -> Bool {
        var chunk = [UInt8](repeating: 0, count: 65_536)
        let count = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        if count < 0 { throw TestError("recv failed: errno \(errno) (timeout?)") }
        if count == 0 { return false }
        buffer.append(contentsOf: chunk[0..<count])
        return true
    }

    private func readLine() throws -> String? {
        while true {
            if let index = buffer.firstIndex(of: 0x0A) {
                let line = String(decoding: buffer[..<index], as: UTF8.self).trimmingCharacters(in: CharacterSet(charactersIn: "\r"))
                buffer.removeSubrange(...index)
                return line
            }
            guard try fill() else { return nil }
        }
    }

    private func readExactly(_ count: Int) throws -> [UInt8] {
        while buffer.count < count {
            guard try fill() else { throw TestError("EOF after \(buffer.count) of \(count) bytes") }
        }
        defer { buffer.removeSubrange(0..<count) }
        return Array(buffer[0..<count])
    }

    /// Reads a response head (skipping 1xx interim responses).
    public func readHead() throws -> TestResponse {
        while true {
            guard let statusLine = try readLine() else { throw TestError("connection closed before a response") }
            let parts = statusLine.split(separator: " ", maxSplits: 2)
            guard parts.count >= 2, let status = Int(parts[1]) else { throw TestError("bad status line \(statusLine)") }
            var headers: [String: String] = [:]
            while let line = try readLine(), !line.isEmpty {
                guard let colon = line.firstIndex(of: ":") else { continue }
                headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            }
            if status >= 100, status < 200 { continue }
            return TestResponse(status: status, headers: headers, body: [])
        }
    }

    /// Reads a whole response (content-length, chunked, or until close). A HEAD response has no body.
    public func readResponse(head isHead: Bool = false, onChunk: (([UInt8]) throws -> Bool)? = nil) throws -> TestResponse {
        var response = try readHead()
        if isHead { return response }
        if let length = response.headers["content-length"].flatMap(Int.init) {
            response.body = try readExactly(length)
        } else if response.headers["transfer-encoding"]?.lowercased() == "chunked" {
            while true {
                guard let sizeLine = try readLine(), let size = Int(sizeLine.split(separator: ";")[0], radix: 16) else {
                    throw TestError("bad chunk size")
                }
                if size == 0 {
                    _ = try readLine()
                    break
                }
                let chunk = try readExactly(size)
                response.body += chunk
                _ = try readLine()
                if let onChunk, try !onChunk(chunk) { return response }
            }
        } else {
            while try fill() {}
            response.body = buffer
            buffer.removeAll()
        }
        return response
    }

    /// True when the peer has closed the connection (reads EOF within the timeout).
    public func isClosedByPeer(within seconds: Int = 5) -> Bool {
        var timeout = timeval(tv_sec: seconds, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        while true {
            guard let more = try? fill() else { return false }
            if !more { return true }
        }
    }
}

public struct TestResponse {
    public var status: Int
    public var headers: [String: String]
    public var body: [UInt8]

    public var text: String { String(decoding: body, as: UTF8.self) }

    public func json() throws -> Any { try JSONSerialization.jsonObject(with: Data(body), options: [.fragmentsAllowed]) }

    /// SSE events as (name, data JSON).
    public var events: [(name: String, data: [String: Any])] {
        text.components(separatedBy: "\n\n").compactMap { block in
            var name = ""
            var data = ""
            for line in block.split(separator: "\n") {
                if line.hasPrefix("event: ") { name = String(line.dropFirst(7)) }
                if line.hasPrefix("data: ") { data += line.dropFirst(6) }
            }
            guard !name.isEmpty, let object = try? JSONSerialization.jsonObject(with: Data(data.utf8)) as? [String: Any]
            else { return nil }
            return (name, object)
        }
    }
}

public struct TestError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// One request on a fresh connection.
public func httpRequest(port: Int, method: String = "POST", path: String, headers: [String: String] = [:],
                 json: Any? = nil, body: [UInt8]? = nil) throws -> TestResponse {
    let connection = try TestConnection(port: port)
    var payload = body ?? []
    var headers = headers
    if let json {
        payload = [UInt8](try JSONSerialization.data(withJSONObject: json))
        headers["content-type"] = "application/json"
    }
    try connection.sendRequest(method: method, path: path, headers: headers, body: payload)
    return try connection.readResponse(head: method == "HEAD")
}
