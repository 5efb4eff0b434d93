import CCurl
import Shared
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// One upstream HTTP exchange: the curl easy handle it runs on (touched on the client's event loop only) and the
/// delegate it reports to.
final class UpstreamTransfer: Sendable {
    let request: UpstreamRequest
    let delegate: UpstreamTransferDelegate
    /// Set by `markCancelled`, possibly from another thread (tests); read in curl's callbacks on the loop.
    private let cancelled = Atomic(false)

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

    var isCancelled: Bool { cancelled.load(ordering: .acquiring) }
    func markCancelled() { cancelled.store(true, ordering: .releasing) }

    /// Sets what every transfer on a new easy handle has in common. A handle keeps its options when the client
    /// reuses it (it is not reset), and `attach` sets every option that differs between transfers.
    /// `offeringHTTP2`: HTTP/2 where the upstream accepts it in the TLS handshake; otherwise HTTP/1.1 always.
    static func configure(_ easy: UnsafeMutableRawPointer, offeringHTTP2: Bool) {
        _ = cg_easy_setopt_long(easy, CURLOPT_POST, 1)
        _ = cg_easy_setopt_long(easy, CURLOPT_NOSIGNAL, 1)
        _ = cg_easy_setopt_long(easy, CURLOPT_TCP_NODELAY, 1)
        _ = cg_easy_setopt_long(easy, CURLOPT_TCP_KEEPALIVE, 1)
        let version = offeringHTTP2 ? CURL_HTTP_VERSION_2TLS : CURL_HTTP_VERSION_1_1
        _ = cg_easy_setopt_long(easy, CURLOPT_HTTP_VERSION, Int(version))
        _ = cg_easy_setopt_write_function(easy, CURLOPT_WRITEFUNCTION, UpstreamTransfer.onBody)
        _ = cg_easy_setopt_write_function(easy, CURLOPT_HEADERFUNCTION, UpstreamTransfer.onHeader)
        if !UpstreamProxyEnvironment.namesAProxy {
            // No proxy named: saves curl looking for one in the environment before every transfer, and for the
            // hosts that bypass it (`no_proxy`, `NO_PROXY`), which it reads even when told there is no proxy.
            _ = "".withCString { cg_easy_setopt_ptr(easy, CURLOPT_PROXY, $0) }
            _ = "".withCString { cg_easy_setopt_ptr(easy, CURLOPT_NOPROXY, $0) }
        }
    }

    /// Sets this transfer's options on an easy handle made ready by `configure` and holds the transfer alive while
    /// curl may call back into it. `waitToShare`: wait for a connection still in its handshake rather than open one
    /// (`CURLOPT_PIPEWAIT`, see `UpstreamClient`). False when the header list cannot be allocated.
    func attach(to easy: UnsafeMutableRawPointer, headers: UpstreamHeaderList, waitToShare: Bool) -> Bool {
        guard let headerList = headers.withAuthorization(key: request.apiKey, bodyBytes: request.body.count) else {
            return false
        }
        self.headerList = headerList
        self.easy = easy
        let unmanaged = Unmanaged.passRetained(self)
        retainedSelf = unmanaged
        let context = unmanaged.toOpaque()

        // The body and the URL's parsed handle outlive the transfer: the request holds the body, and the handle lives
        // as long as the worker's `UpstreamURL`.
        if let parsed = request.url.parsed {
            _ = cg_easy_setopt_ptr(easy, CURLOPT_CURLU, UnsafeRawPointer(parsed))
        } else {
            _ = request.url.cString.withUnsafeBufferPointer { cg_easy_setopt_ptr(easy, CURLOPT_URL, $0.baseAddress) }
        }
        _ = cg_easy_setopt_long(easy, CURLOPT_POSTFIELDSIZE, request.body.count)
        _ = cg_easy_setopt_ptr(easy, CURLOPT_POSTFIELDS, request.body.bytes.baseAddress)
        _ = cg_easy_setopt_ptr(easy, CURLOPT_HTTPHEADER, headerList)
        _ = cg_easy_setopt_long(easy, CURLOPT_CONNECTTIMEOUT_MS, request.connectTimeoutMs)
        _ = cg_easy_setopt_long(easy, CURLOPT_SSL_VERIFYPEER, request.verifyTLS ? 1 : 0)
        _ = cg_easy_setopt_long(easy, CURLOPT_SSL_VERIFYHOST, request.verifyTLS ? 2 : 0)
        _ = cg_easy_setopt_long(easy, CURLOPT_PIPEWAIT, waitToShare ? 1 : 0)
        _ = cg_easy_setopt_ptr(easy, CURLOPT_WRITEDATA, context)
        _ = cg_easy_setopt_ptr(easy, CURLOPT_HEADERDATA, context)
        return true
    }

    /// Lets go of the easy handle (the client frees or reuses it) once curl no longer calls back.
    func detach() {
        easy = nil
        if let headerList { UpstreamHeaderList.releaseAuthorization(headerList) }
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

    /// One header line as curl hands it over (with its CRLF). Parsed on bytes with plain index loops: this runs for
    /// every header of every upstream response. Only the fields the gateway reads are kept (see `keptName`).
    private func receiveHeaderLine(_ raw: UnsafeBufferPointer<UInt8>) {
        var end = raw.count
        while end > 0, raw[end - 1] == 0x0D || raw[end - 1] == 0x0A || raw[end - 1] == 0x20 { end -= 1 }
        let line = UnsafeBufferPointer(rebasing: raw[..<end])
        if Self.startsWithHTTPVersion(line) {
            // A new header block (a 1xx interim response precedes the real one).
            headers.removeAll(keepingCapacity: true)
            headers.reserveCapacity(Self.knownNames.count)
            status = Self.statusCode(ofStatusLine: line)
        } else if line.isEmpty {
            guard status >= 200, !isCancelled else { return }
            delegate.upstreamReceivedHead(status: status, headers: headers)
        } else if let base = line.baseAddress, let found = memchr(base, Int32(UInt8(ascii: ":")), line.count) {
            // `memchr` rather than `firstIndex(of:)`, which steps a byte at a time through the name.
            let colon = base.distance(to: found.assumingMemoryBound(to: UInt8.self))
            guard let name = Self.keptName(UnsafeBufferPointer(rebasing: line[..<colon])) else { return }
            var valueStart = colon + 1
            while valueStart < line.count, line[valueStart] == 0x20 || line[valueStart] == 0x09 { valueStart += 1 }
            headers.append((name, String(decoding: UnsafeBufferPointer(rebasing: line[valueStart...]), as: UTF8.self)))
        }
    }

    private static func startsWithHTTPVersion(_ line: UnsafeBufferPointer<UInt8>) -> Bool {
        line.count >= 5 && line[0] == UInt8(ascii: "H") && line[1] == UInt8(ascii: "T") && line[2] == UInt8(ascii: "T")
            && line[3] == UInt8(ascii: "P") && line[4] == UInt8(ascii: "/")
    }

    /// The code of a status line `HTTP/x SP code [SP reason]`; 0 when it has none.
    static func statusCode(ofStatusLine line: UnsafeBufferPointer<UInt8>) -> Int {
        guard var index = line.firstIndex(of: 0x20) else { return 0 }
        index += 1
        var code = 0
        var digits = 0
        while index < line.count, line[index] != 0x20 {
            let digit = Int(line[index]) - 0x30
            guard digit >= 0, digit <= 9, digits < 3 else { return 0 }
            code = code * 10 + digit
            digits += 1
            index += 1
        }
        return digits == 3 ? code : 0
    }

    /// The kept names Cerebras sends on every response.
    private static let knownNameLiterals: [StaticString] = [
        "content-type", "retry-after",
        "x-ratelimit-limit-requests-day", "x-ratelimit-limit-tokens-minute",
        "x-ratelimit-remaining-requests-day", "x-ratelimit-remaining-tokens-minute",
        "x-ratelimit-reset-requests-day", "x-ratelimit-reset-tokens-minute",
    ]
    /// The same names as they are stored, made once: most are longer than a string stores inline, so a new copy per
    /// header would allocate.
    private static let knownNames = knownNameLiterals.map { "\($0)" }
    /// Entry `n`: the indexes of the known names `n` bytes long, so that a name is compared with those alone.
    private static let knownNamesByLength: [[Int]] = {
        var byLength = [[Int]](repeating: [], count: 1 + knownNameLiterals.map(\.utf8CodeUnitCount).max()!)
        for (index, name) in knownNameLiterals.enumerated() { byLength[name.utf8CodeUnitCount].append(index) }
        return byLength
    }()
    private static let rateLimitPrefix: StaticString = "x-ratelimit-"

    /// The string a known name (`literal`, lowercased) is stored as: a reader that looks a field up by it finds the
    /// very string stored, which `==` recognises without comparing bytes.
    static func storedName(_ literal: StaticString) -> String {
        literal.withUTF8Buffer { keptName($0) } ?? "\(literal)"
    }

    /// The lowercased name under which a header field is kept, or nil for a field the gateway does not read. Kept:
    /// the body's type, and the upstream's retry and rate-limit advice (`RetryPolicy`, `UpstreamHeaderMapping`).
    static func keptName(_ name: UnsafeBufferPointer<UInt8>) -> String? {
        if name.count < knownNamesByLength.count {
            for index in knownNamesByLength[name.count] where name.equalsIgnoringASCIICase(knownNameLiterals[index]) {
                return knownNames[index]
            }
        }
        let prefixLength = rateLimitPrefix.utf8CodeUnitCount
        guard name.count > prefixLength,
              UnsafeBufferPointer(rebasing: name[..<prefixLength]).equalsIgnoringASCIICase(rateLimitPrefix)
        else { return nil }
        return String(unsafeUninitializedCapacity: name.count) { buffer in
            for index in 0..<name.count { buffer[index] = name[index].asciiLowercased }
            return name.count
        }
    }
}
