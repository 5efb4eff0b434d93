import CCurl

/// One HTTP request to the upstream, fully prepared on the event loop.
struct UpstreamRequest: Sendable {
    var url: UpstreamURL
    var apiKey: String
    var body: UpstreamBody
    var connectTimeoutMs: Int
    var verifyTLS: Bool
}

/// An upstream URL, parsed by curl once (a worker sends every request to the same one).
///
/// Given as a string (`CURLOPT_URL`), curl parses the URL again for every transfer; given as its parsed handle
/// (`CURLOPT_CURLU`), it copies the parts. curl only reads the handle, so transfers on every event loop share it.
final class UpstreamURL: Sendable, CustomStringConvertible {
    let description: String
    let cString: ContiguousArray<CChar>
    /// An `https://` URL: the only kind whose server can offer HTTP/2 (in its TLS handshake) to this client.
    let isHTTPS: Bool
    /// curl's parse of the URL (a `CURLU *`); nil when curl refuses it, and then transfers take the string and
    /// fail with curl's own error.
    nonisolated(unsafe) let parsed: OpaquePointer?

    init(_ url: String) {
        description = url
        cString = url.utf8CString
        isHTTPS = url.hasPrefix("https://")
        var handle = cg_url()
        if let parsing = handle, cString.withUnsafeBufferPointer({
            cg_url_set(parsing, CURLUPART_URL, $0.baseAddress, 0)
        }) != CURLUE_OK {
            cg_url_cleanup(parsing)
            handle = nil
        }
        parsed = handle
    }

    deinit {
        if let parsed { cg_url_cleanup(parsed) }
    }
}

/// Receives one transfer's progress. Called from inside curl, on the event loop that drives the client: curl
/// forbids calls into it from its callbacks, so implementations must not call back into the client synchronously,
/// except through `notifyAtPassEnd`, which is meant for them.
protocol UpstreamTransferDelegate: AnyObject, Sendable {
    /// Headers complete: the status and the header fields (names lowercased).
    func upstreamReceivedHead(status: Int, headers: [(name: String, value: String)])
    /// Body bytes. Return false to pause the transfer (the same bytes are delivered again after `resume`).
    func upstreamReceived(_ bytes: UnsafeRawBufferPointer) -> Bool
    /// The transfer ended: nil on success, else why it failed. Never called after `cancel`.
    func upstreamCompleted(error: UpstreamTransportError?)
}

/// Told by the `UpstreamClient` when the curl pass it asked about (`notifyAtPassEnd`) has ended.
protocol UpstreamPassObserver: AnyObject, Sendable {
    /// Called on the client's event loop once the pass has ended, never from inside a call into the client (a pass
    /// that `start`, `resume` or `cancel` made is reported in a task after it): the observer may act on what the
    /// pass brought, including calling the client.
    func upstreamPassEnded()
}

/// A transport-level failure (no HTTP status to map).
struct UpstreamTransportError: Error, Equatable, Sendable, CustomStringConvertible {
    enum Kind: Sendable { case connect, timeout, connectionLost, other }
    var kind: Kind
    var detail: String

    var description: String { detail }
}
