/// The master ⇄ worker protocol on the control socketpair (fd 4 in the worker): one compact JSON object
/// per line. Compact JSON never contains a raw newline, so a newline is an unambiguous frame end.
public enum ControlMessage: Sendable, Equatable {
    // MARK: worker → master
    /// The worker serves on its inherited listener.
    case ready(pid: Int32)
    /// Liveness plus the worker's cumulative metrics.
    case heartbeat(activeRequests: Int, metrics: MetricsSnapshot)
    /// Embedded-mode rate limiting: decide and reserve for `bucket` (answered with `rateLimitDecision`).
    case rateLimitAcquire(id: Int, bucket: String, requestsPerMinute: Int, tokensPerMinute: Int, tokens: Int)
    /// Embedded-mode correction of a reservation once the real usage is known.
    case rateLimitCorrect(bucket: String, requestsPerMinute: Int, tokensPerMinute: Int, deltaTokens: Int)
    /// `GET /health` or `GET /metrics` arrived on the API port: the master answers for the whole node.
    case adminQuery(id: Int, path: String)

    // MARK: master → worker
    case rateLimitDecision(id: Int, decision: RateLimitDecision)
    /// Stop accepting, finish in-flight requests, exit 0.
    case drain
    case adminResponse(id: Int, status: Int, contentType: String, body: String)

    public func encoded() -> [UInt8] {
        var writer = JSONWriter(capacity: 128)
        writer.value(json)
        writer.raw("\n")
        return writer.takeBytes()
    }

    var json: JSONValue {
        switch self {
        case .ready(let pid):
            return .object(JSONObject([("t", .string("ready")), ("pid", .int(Int(pid)))]))
        case .heartbeat(let active, let metrics):
            return .object(JSONObject([("t", .string("hb")), ("active", .int(active)), ("m", metrics.json())]))
        case .rateLimitAcquire(let id, let bucket, let rpm, let tpm, let tokens):
            return .object(JSONObject([
                ("t", .string("rl")), ("id", .int(id)), ("b", .string(bucket)), ("rpm", .int(rpm)),
                ("tpm", .int(tpm)), ("tok", .int(tokens)),
            ]))
        case .rateLimitCorrect(let bucket, let rpm, let tpm, let delta):
            return .object(JSONObject([
                ("t", .string("rlc")), ("b", .string(bucket)), ("rpm", .int(rpm)), ("tpm", .int(tpm)),
                ("d", .int(delta)),
            ]))
        case .rateLimitDecision(let id, let verdict):
            return .object(JSONObject([("t", .string("rlr")), ("id", .int(id)), ("v", verdict.json)]))
        case .drain:
            return .object(JSONObject([("t", .string("drain"))]))
        case .adminQuery(let id, let path):
            return .object(JSONObject([("t", .string("aq")), ("id", .int(id)), ("p", .string(path))]))
        case .adminResponse(let id, let status, let contentType, let body):
            return .object(JSONObject([
                ("t", .string("ar")), ("id", .int(id)), ("s", .int(status)), ("ct", .string(contentType)),
                ("b", .string(body)),
            ]))
        }
    }

    /// Decodes one line (without its newline). Unknown or malformed lines give nil: a newer peer's messages
    /// are skipped, not fatal.
    public init?(line: some Collection<UInt8>) {
        guard let json = try? JSONParser.parse(line), let type = json["t"]?.stringValue else { return nil }
        switch type {
        case "ready":
            guard let pid = json["pid"]?.intValue else { return nil }
            self = .ready(pid: Int32(truncatingIfNeeded: pid))
        case "hb":
            self = .heartbeat(activeRequests: json["active"]?.intValue ?? 0,
                              metrics: MetricsSnapshot(json: json["m"] ?? .null))
        case "rl":
            guard let id = json["id"]?.intValue, let bucket = json["b"]?.stringValue else { return nil }
            self = .rateLimitAcquire(id: id, bucket: bucket, requestsPerMinute: json["rpm"]?.intValue ?? 0,
                                     tokensPerMinute: json["tpm"]?.intValue ?? 0, tokens: json["tok"]?.intValue ?? 0)
        case "rlc":
            guard let bucket = json["b"]?.stringValue else { return nil }
            self = .rateLimitCorrect(bucket: bucket, requestsPerMinute: json["rpm"]?.intValue ?? 0,
                                     tokensPerMinute: json["tpm"]?.intValue ?? 0, deltaTokens: json["d"]?.intValue ?? 0)
        case "rlr":
            guard let id = json["id"]?.intValue, let verdict = json["v"].flatMap(RateLimitDecision.init(json:))
            else { return nil }
            self = .rateLimitDecision(id: id, decision: verdict)
        case "drain":
            self = .drain
        case "aq":
            guard let id = json["id"]?.intValue, let path = json["p"]?.stringValue else { return nil }
            self = .adminQuery(id: id, path: path)
        case "ar":
            guard let id = json["id"]?.intValue, let status = json["s"]?.intValue else { return nil }
            self = .adminResponse(id: id, status: status, contentType: json["ct"]?.stringValue ?? "text/plain",
                                  body: json["b"]?.stringValue ?? "")
        default:
            return nil
        }
    }
}

extension RateLimitDecision {
    /// The decision as it crosses the control channel.
    var json: JSONValue {
        var fields: [(key: String, value: JSONValue)] = [
            ("ok", .bool(allowed)), ("rl", .int(requestsLimit)), ("rr", .int(requestsRemaining)),
            ("rs", .double(requestsResetSeconds)), ("tl", .int(tokensLimit)), ("tr", .int(tokensRemaining)),
            ("ts", .double(tokensResetSeconds)),
        ]
        if let retryAfterSeconds { fields.append(("ra", .double(retryAfterSeconds))) }
        return .object(JSONObject(fields))
    }

    init?(json: JSONValue) {
        guard let allowed = json["ok"]?.boolValue else { return nil }
        self.init(
            allowed: allowed, requestsLimit: json["rl"]?.intValue ?? 0, requestsRemaining: json["rr"]?.intValue ?? 0,
            requestsResetSeconds: json["rs"]?.doubleValue ?? 0, tokensLimit: json["tl"]?.intValue ?? 0,
            tokensRemaining: json["tr"]?.intValue ?? 0, tokensResetSeconds: json["ts"]?.doubleValue ?? 0,
            retryAfterSeconds: json["ra"]?.doubleValue)
    }
}

/// Splits a byte stream into control lines.
public struct ControlLineBuffer: Sendable {
    private var buffer: [UInt8] = []
    /// Bytes already searched for a newline (each byte is looked at once).
    private var scanned = 0
    /// A peer sending a line larger than this is broken; the buffer is reset rather than grown without bound.
    public static let maxLineBytes = 8 * 1024 * 1024

    public init() {}

    public mutating func append(_ bytes: some Sequence<UInt8>) -> [ControlMessage] {
        buffer.append(contentsOf: bytes)
        var messages: [ControlMessage] = []
        var start = 0
        while let newline = buffer[max(start, scanned)...].firstIndex(of: 0x0A) {
            if let message = ControlMessage(line: buffer[start..<newline]) { messages.append(message) }
            start = newline + 1
        }
        buffer.removeSubrange(0..<start)
        scanned = buffer.count
        if buffer.count > Self.maxLineBytes {
            buffer.removeAll()
            scanned = 0
        }
        return messages
    }
}
