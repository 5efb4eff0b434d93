import CCurl
import NIOConcurrencyHelpers

/// One upstream HTTP exchange: the curl easy handle it runs on (touched on the client's event loop only) and the
/// delegate it reports to.
final class UpstreamTransfer: Sendable {
    let request: UpstreamRequest
    let delegate: UpstreamTransferDelegate
    private let cancelled = NIOLockedValueBox(false)

    // Touched only on the client's event loop (set in `attach`, cleared in `detach`).
    nonisolated(unsafe) private(set) var easy: UnsafeMutableRawPointer?
    nonisolated(unsafe) private var headerList: UnsafeMutablePointer<curl_slist>?
    nonisolated(unsafe) private var headers: [(name: String, value: String)] = []
    nonisolated(unsafe) private var status = 0
    nonisolated(unsafe) private var retainedSelf: Unmanaged<UpstreamTransfer>?

    init(request: UpstreamRequest, delegate: UpstreamTransferDelegate) {
        self.request = request
        self.delegate = delegate
    }

    var isCancelled: Bool { cancelled.withLockedValue { $0 } }
    func markCancelled() { cancelled.withLockedValue { $0 = true } }

    /// Configures a fresh (or reset) easy handle for this transfer and holds the transfer alive while curl may
    /// call back into it.
    func attach(to easy: UnsafeMutableRawPointer) {
        self.easy = easy
        let unmanaged = Unmanaged.passRetained(self)
        retainedSelf = unmanaged
        let context = unmanaged.toOpaque()

        _ = cg_easy_setopt_ptr(easy, CURLOPT_URL, request.url)
        _ = cg_easy_setopt_long(easy, CURLOPT_POST, 1)
        _ = cg_easy_setopt_long(easy, CURLOPT_POSTFIELDSIZE, request.body.count)
        _ = request.body.withUnsafeBytes { cg_easy_setopt_ptr(easy, CURLOPT_COPYPOSTFIELDS, $0.baseAddress) }
        for header in ["Authorization: Bearer \(request.apiKey)", "Content-Type: application/json",
                       "Accept: text/event-stream, application/json", "Expect:", "User-Agent: cerebras-gateway"] {
            headerList = cg_slist_append(headerList, header)
        }
        _ = cg_easy_setopt_ptr(easy, CURLOPT_HTTPHEADER, headerList)
        _ = cg_easy_setopt_long(easy, CURLOPT_NOSIGNAL, 1)
        _ = cg_easy_setopt_long(easy, CURLOPT_CONNECTTIMEOUT_MS, request.connectTimeoutMs)
        _ = cg_easy_setopt_long(easy, CURLOPT_TCP_NODELAY, 1)
        _ = cg_easy_setopt_long(easy, CURLOPT_TCP_KEEPALIVE, 1)
        // HTTP/2 where the upstream offers it over TLS; plain HTTP/1.1 otherwise.
        _ = cg_easy_setopt_long(easy, CURLOPT_HTTP_VERSION, Int(CURL_HTTP_VERSION_2TLS))
        _ = cg_easy_setopt_long(easy, CURLOPT_SSL_VERIFYPEER, request.verifyTLS ? 1 : 0)
        _ = cg_easy_setopt_long(easy, CURLOPT_SSL_VERIFYHOST, request.verifyTLS ? 2 : 0)
        _ = cg_easy_setopt_write_function(easy, CURLOPT_WRITEFUNCTION, UpstreamTransfer.onBody)
        _ = cg_easy_setopt_ptr(easy, CURLOPT_WRITEDATA, context)
        _ = cg_easy_setopt_write_function(easy, CURLOPT_HEADERFUNCTION, UpstreamTransfer.onHeader)
        _ = cg_easy_setopt_ptr(easy, CURLOPT_HEADERDATA, context)
    }

    /// Lets go of the easy handle (the client frees or reuses it) once curl no longer calls back.
    func detach() {
        easy = nil
        if let headerList { cg_slist_free_all(headerList) }
        headerList = nil
        retainedSelf?.release()
        retainedSelf = nil
    }

    // MARK: - curl callbacks (on the client's event loop)

    private static let onHeader: cg_write_callback = { data, size, count, context in
        let length = size * count
        guard let data, let context else { return length }
        let transfer = Unmanaged<UpstreamTransfer>.fromOpaque(context).takeUnretainedValue()
        transfer.receiveHeaderLine(UnsafeRawBufferPointer(start: data, count: length).bindMemory(to: UInt8.self))
        return length
    }

    private static let onBody: cg_write_callback = { data, size, count, context in
        let length = size * count
        guard let data, let context else { return length }
        let transfer = Unmanaged<UpstreamTransfer>.fromOpaque(context).takeUnretainedValue()
        if transfer.isCancelled { return 0 }
        let accepted = transfer.delegate.upstreamReceived(UnsafeRawBufferPointer(start: data, count: length))
        return accepted ? length : Int(CURL_WRITEFUNC_PAUSE)
    }

    /// One header line as curl hands it over (with its CRLF). Parsed on bytes: this runs for every header of
    /// every upstream response. Only the fields the gateway reads are kept (see `isKept`).
    private func receiveHeaderLine(_ raw: UnsafeBufferPointer<UInt8>) {
        var line = raw[...]
        while let last = line.last, last == 0x0D || last == 0x0A || last == 0x20 { line = line.dropLast() }
        if line.starts(with: "HTTP/".utf8) {
            // A new header block (a 1xx interim response precedes the real one).
            headers.removeAll(keepingCapacity: true)
            headers.reserveCapacity(Self.knownNames.count)
            let parts = line.split(separator: 0x20, maxSplits: 2)
            status = parts.count > 1 ? Int(String(decoding: parts[1], as: UTF8.self)) ?? 0 : 0
        } else if line.isEmpty {
            guard status >= 200, !isCancelled else { return }
            delegate.upstreamReceivedHead(status: status, headers: headers)
        } else if let colon = line.firstIndex(of: UInt8(ascii: ":")) {
            let name = line[..<colon].lazy.map(\.asciiLowercased)
            guard Self.isKept(name) else { return }
            var value = line[(colon + 1)...]
            while let first = value.first, first == 0x20 || first == 0x09 { value = value.dropFirst() }
            // Cerebras's names are mostly longer than a string stores inline: take the literal, not a new copy.
            let known = Self.knownNames.first { $0.utf8.elementsEqual(name) }
            headers.append((known ?? String(decoding: name, as: UTF8.self), String(decoding: value, as: UTF8.self)))
        }
    }

    /// The kept names Cerebras sends on every response.
    private static let knownNames = [
        "content-type", "retry-after",
        "x-ratelimit-limit-requests-day", "x-ratelimit-limit-tokens-minute",
        "x-ratelimit-remaining-requests-day", "x-ratelimit-remaining-tokens-minute",
        "x-ratelimit-reset-requests-day", "x-ratelimit-reset-tokens-minute",
    ]

    /// The header fields the gateway reads (lowercased names): the body's type, and the upstream's retry and
    /// rate-limit advice (`RetryPolicy`, `UpstreamHeaderMapping`).
    static func isKept(_ name: some Collection<UInt8>) -> Bool {
        name.elementsEqual("content-type".utf8) || name.elementsEqual("retry-after".utf8)
            || name.starts(with: "x-ratelimit-".utf8)
    }
}
