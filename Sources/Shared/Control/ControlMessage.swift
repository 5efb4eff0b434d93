/// The master ⇄ worker protocol on the control socketpair (fd 4 in the worker): one compact JSON object
/// per line. Compact JSON never contains a raw newline, so a newline is an unambiguous frame end.
public enum ControlMessage: Sendable, Equatable {
    // MARK: worker → master
    /// The worker serves on its inherited listener.
    case ready(pid: Int32)
    /// Liveness plus the worker's cumulative metrics.
    case heartbeat(activeRequests: Int, metrics: MetricsSnapshot)
    /// Embedded-mode rate limiting: decide and reserve for `bucket` (answered with `rateLimitDecision`), giving back
    /// and asking for a lease as `lease` says (`RateLimitLease`).
    case rateLimitAcquire(id: Int, bucket: String, requestsPerMinute: Int, tokensPerMinute: Int, tokens: Int,
                          lease: RateLimitLease.Terms = .init())
    /// Embedded-mode correction of a reservation once the real usage is known, and a lease's unused requests given
    /// back.
    case rateLimitCorrect(bucket: String, requestsPerMinute: Int, tokensPerMinute: Int, deltaTokens: Int,
                          returnedRequests: Int = 0)
    /// `GET /health` or `GET /metrics` arrived on the API port: the master answers for the whole node.
    case adminQuery(id: Int, path: String)

    // MARK: master → worker
    /// The answer to `rateLimitAcquire`, with the lease granted when one was asked for.
    case rateLimitDecision(id: Int, decision: RateLimitDecision, grant: RateLimitLease.Grant? = nil)
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
        case .rateLimitAcquire(let id, let bucket, let rpm, let tpm, let tokens, let lease):
            var fields: [(key: String, value: JSONValue)] = [
                ("t", .string("rl")), ("id", .int(id)), ("b", .string(bucket)), ("rpm", .int(rpm)),
                ("tpm", .int(tpm)), ("tok", .int(tokens)),
            ]
            // A lease's terms only when there are any.
            for (key, value) in [("lr", lease.wantRequests), ("lt", lease.wantTokens), ("br", lease.returnedRequests),
                                 ("bd", lease.tokenDelta)] where value != 0 {
                fields.append((key, .int(value)))
            }
            return .object(JSONObject(fields))
        case .rateLimitCorrect(let bucket, let rpm, let tpm, let delta, let returned):
            var fields: [(key: String, value: JSONValue)] = [
                ("t", .string("rlc")), ("b", .string(bucket)), ("rpm", .int(rpm)), ("tpm", .int(tpm)),
                ("d", .int(delta)),
            ]
            if returned != 0 { fields.append(("br", .int(returned))) }
            return .object(JSONObject(fields))
        case .rateLimitDecision(let id, let verdict, let grant):
            var fields: [(key: String, value: JSONValue)] = [("t", .string("rlr")), ("id", .int(id)), ("v", verdict.json)]
            if let grant {
                fields.append(("g", .array([.int(grant.requests), .int(grant.tokens), .int(Int(grant.requestTAT)),
                                            .int(Int(grant.tokenTAT))])))
            }
            return .object(JSONObject(fields))
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
            let lease = RateLimitLease.Terms(
                wantRequests: json["lr"]?.intValue ?? 0, wantTokens: json["lt"]?.intValue ?? 0,
                returnedRequests: json["br"]?.intValue ?? 0, tokenDelta: json["bd"]?.intValue ?? 0)
            self = .rateLimitAcquire(id: id, bucket: bucket, requestsPerMinute: json["rpm"]?.intValue ?? 0,
                                     tokensPerMinute: json["tpm"]?.intValue ?? 0, tokens: json["tok"]?.intValue ?? 0,
                                     lease: lease)
        case "rlc":
            guard let bucket = json["b"]?.stringValue else { return nil }
            self = .rateLimitCorrect(bucket: bucket, requestsPerMinute: json["rpm"]?.intValue ?? 0,
                                     tokensPerMinute: json["tpm"]?.intValue ?? 0, deltaTokens: json["d"]?.intValue ?? 0,
                                     returnedRequests: json["br"]?.intValue ?? 0)
        case "rlr":
            guard let id = json["id"]?.intValue, let verdict = json["v"].flatMap(RateLimitDecision.init(json:))
            else { return nil }
            var grant: RateLimitLease.Grant?
            if case .array(let values)? = json["g"], values.count == 4 {
                let numbers = values.compactMap(\.intValue)
                guard numbers.count == 4 else { return nil }
                grant = RateLimitLease.Grant(requests: numbers[0], tokens: numbers[1], requestTAT: Int64(numbers[2]),
                                             tokenTAT: Int64(numbers[3]))
            }
            self = .rateLimitDecision(id: id, decision: verdict, grant: grant)
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
