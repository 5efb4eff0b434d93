import NIOCore
import NIOHTTP1
import NIOConcurrencyHelpers

/// Counters and the last chat-completions request, shared by every connection; served at `/fake/stats`.
final class FakeStats: Sendable {
    private struct State {
        var requests = 0
        var active = 0
        var cancelled = 0
        var completed = 0
        /// TCP connections accepted (each `/fake/stats` query's own among them), and those of them still open.
        var connections = 0
        var openConnections = 0
        var lastRequest: ByteBuffer?
        var lastRequestIsJSON = false
        var lastHeaders: HTTPHeaders?
    }

    /// A lock ThreadSanitizer sees (`scripts/sanitizers.sh thread` runs this fake): it does not see the standard
    /// library's `Mutex` on Linux, and reported every pair of accesses under one as a race.
    private let state = NIOLockedValueBox(State())

    /// A chat-completions request arrived; it stays active until `completed` or `cancelled`.
    func requestStarted(body: ByteBuffer, isJSON: Bool, headers: HTTPHeaders) {
        state.withLockedValue {
            $0.requests += 1
            $0.active += 1
            $0.lastRequest = body
            $0.lastRequestIsJSON = isJSON
            $0.lastHeaders = headers
        }
    }

    /// A client opened a connection.
    func connectionAccepted() {
        state.withLockedValue {
            $0.connections += 1
            $0.openConnections += 1
        }
    }

    /// A connection counted by `connectionAccepted` closed.
    func connectionClosed() {
        state.withLockedValue { $0.openConnections -= 1 }
    }

    /// The response ran to its scripted end (including a scripted drop).
    func completed() {
        state.withLockedValue {
            $0.active -= 1
            $0.completed += 1
        }
    }

    /// The client went away before the response finished.
    func cancelled() {
        state.withLockedValue {
            $0.active -= 1
            $0.cancelled += 1
        }
    }

    /// Zeroes the counters and forgets the last request. `active` and `openConnections` are kept: those responses
    /// are still running, those connections still open.
    func reset() {
        state.withLockedValue {
            let (active, openConnections) = ($0.active, $0.openConnections)
            $0 = State()
            $0.active = active
            $0.openConnections = openConnections
        }
    }

    /// The `/fake/stats` JSON document.
    func json() -> String {
        let s = state.withLockedValue { $0 }
        let lastRequest: String
        if let body = s.lastRequest {
            let text = String(decoding: body.readableBytesView, as: UTF8.self)
            // Embed the body as JSON when it is JSON, so tests can index into it; else as a string.
            lastRequest = s.lastRequestIsJSON ? text : JSONText.quoted(text)
        } else {
            lastRequest = "null"
        }
        var headers: [(String, String)] = []
        for (name, value) in s.lastHeaders ?? [:] {
            let key = name.lowercased()
            if let i = headers.firstIndex(where: { $0.0 == key }) {
                headers[i].1 += ", " + value
            } else {
                headers.append((key, value))
            }
        }
        let headersJSON = headers.map { JSONText.quoted($0.0) + ":" + JSONText.quoted($0.1) }.joined(separator: ",")
        return """
            {"requests":\(s.requests),"active":\(s.active),"cancelled":\(s.cancelled),\
            "completed":\(s.completed),"connections":\(s.connections),"open_connections":\(s.openConnections),\
            "last_request":\(lastRequest),"last_headers":{\(headersJSON)}}
            """
    }
}
