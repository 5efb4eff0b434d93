#if canImport(Glibc)
import Glibc
#endif
import NIOCore
import NIOHTTP1
import NIOPosix
import Shared
import Synchronization

/// `gateway-bench load`: drives an Anthropic or OpenAI endpoint and prints one JSON object per run.
enum LoadCommand {
    struct Options {
        var host = "127.0.0.1"
        var port = 0
        var api = APIKind.anthropic
        var path: String?
        var key: String?
        var model: String?
        var stream = false
        var scenario = "text"
        var bodyFile: String?
        var connections = 1
        var requests: Int?
        var duration: Double?
        var rate: Double?
        var grace = 10.0
        var threads = 1
        var label = ""
        var arm = ""
        var watches: [(label: String, pids: [Int32])] = []
        var sampleMillis = 200
        var expectTokens: Int??
        var findRateP99Millis: Double?
        var probeDuration = 2.0
        var maxProbes = 7
        var tags: [(key: String, value: JSONValue)] = []
        var temperature: String?
        var unique = false
        /// More header fields for every request (`--header-file`), after the generator's own.
        var extraFields: [(name: String, value: String)] = []
    }

    static let usage = """
        usage: gateway-bench load --url http://127.0.0.1:PORT [--api anthropic|openai] [--key K] [--model M]
               [--stream] [--scenario 'paced;chunks=200;interval_ms=20'] [--body-file anthropic.json]
               [--connections C] [--requests N] [--duration S] [--rate R] [--grace S] [--threads T]
               [--label L] [--arm A] [--watch label=pid,pid …] [--sample-ms MS] [--expect-tokens N|none]
               [--find-rate P99_MS [--probe-duration S] [--max-probes N]] [--tag key=value …]
               [--temperature T] [--unique] [--header-file FILE]
        Closed loop by default (C connections, each sends its next request when the last one ends);
        --rate R makes it open loop (arrivals at fixed intended times; latency counted from them).
        --temperature T sets the request's temperature (T ≤ 0.01 makes it cacheable by the gateway); --unique gives
        every request its own number in the prompt, so no two are alike (each one a cache miss). --header-file adds
        the `Name: value` lines of FILE to every request's head (a client's own fields: an SDK sends a dozen more).
        A `paced` scenario is checked token by token (each `tok{i} ` once, in order, usage matching); with `tool=1`
        the tokens arrive as the lines of one tool call's arguments, `{"content":"tok0\ntok1\n…"}`, checked there.
        """

    /// The `Name: value` lines of a file; blank lines and lines starting with `#` are skipped.
    static func headerFields(path: String) throws -> [(name: String, value: String)] {
        guard let bytes = readFileBytes(path) else { throw UsageError("--header-file: cannot read \(path)") }
        func trimmed(_ text: Substring) -> String {
            String(text.drop { $0 == " " || $0 == "\r" }.reversed().drop { $0 == " " || $0 == "\r" }.reversed())
        }
        return try String(decoding: bytes, as: UTF8.self).split(separator: "\n").compactMap { line in
            let line = trimmed(line)
            guard !line.isEmpty, !line.hasPrefix("#") else { return nil }
            guard let colon = line.firstIndex(of: ":"), colon != line.startIndex else {
                throw UsageError("--header-file: not a `Name: value` line: \(line)")
            }
            return (String(line[..<colon]), trimmed(line[line.index(after: colon)...]))
        }
    }

    static func parse(_ arguments: ArraySlice<String>) throws -> Options {
        var options = Options()
        var iterator = arguments.makeIterator()
        while let flag = iterator.next() {
            func value() throws -> String {
                guard let next = iterator.next() else { throw UsageError("\(flag) needs a value") }
                return next
            }
            switch flag {
            case "--url":
                let raw = try value()
                guard raw.hasPrefix("http://") else { throw UsageError("--url must be http://host:port") }
                let hostPort = raw.dropFirst(7).split(separator: "/", maxSplits: 1).first ?? ""
                guard let colon = hostPort.lastIndex(of: ":"), let port = Int(hostPort[hostPort.index(after: colon)...])
                else { throw UsageError("--url needs an explicit port: \(raw)") }
                options.host = String(hostPort[..<colon])
                options.port = port
            case "--api":
                let raw = try value()
                guard let api = APIKind(rawValue: raw) else { throw UsageError("--api: anthropic or openai") }
                options.api = api
            case "--path": options.path = try value()
            case "--key": options.key = try value()
            case "--model": options.model = try value()
            case "--stream": options.stream = true
            case "--no-stream": options.stream = false
            case "--scenario": options.scenario = try value()
            case "--body-file": options.bodyFile = try value()
            case "--temperature":
                let text = try value()
                guard Double(text) != nil else { throw UsageError("load: --temperature needs a number") }
                options.temperature = text
            case "--unique": options.unique = true
            case "--header-file": options.extraFields = try headerFields(path: value())
            case "--connections": options.connections = try positiveInt(flag, value())
            case "--requests": options.requests = try positiveInt(flag, value())
            case "--duration": options.duration = try positiveDouble(flag, value())
            case "--rate": options.rate = try positiveDouble(flag, value())
            case "--grace": options.grace = try positiveDouble(flag, value())
            case "--threads": options.threads = try positiveInt(flag, value())
            case "--label": options.label = try value()
            case "--arm": options.arm = try value()
            case "--sample-ms": options.sampleMillis = try positiveInt(flag, value())
            case "--watch":
                let raw = try value()
                guard let eq = raw.firstIndex(of: "=") else { throw UsageError("--watch label=pid,pid") }
                let pids = raw[raw.index(after: eq)...].split(separator: ",").compactMap { Int32($0) }
                options.watches.append((String(raw[..<eq]), pids))
            case "--expect-tokens":
                let raw = try value()
                options.expectTokens = raw == "none" ? .some(nil) : .some(try positiveInt(flag, raw))
            case "--tag":
                let raw = try value()
                guard let eq = raw.firstIndex(of: "=") else { throw UsageError("--tag key=value") }
                let text = String(raw[raw.index(after: eq)...])
                options.tags.append((String(raw[..<eq]), Int(text).map { .int($0) } ?? .string(text)))
            case "--find-rate": options.findRateP99Millis = try positiveDouble(flag, value())
            case "--probe-duration": options.probeDuration = try positiveDouble(flag, value())
            case "--max-probes": options.maxProbes = try positiveInt(flag, value())
            default: throw UsageError("load: unknown argument \(flag)\n\(usage)")
            }
        }
        guard options.port > 0 else { throw UsageError("load: --url is required\n\(usage)") }
        return options
    }

    // MARK: - Request

    /// The `key=value` parts of a `paced` scenario, or nil for any other scenario.
    static func pacedParameters(_ scenario: String) -> ArraySlice<String>? {
        let parts = scenario.split(separator: ";").map { $0.trimmingCharacters(in: " ") }
        guard parts.first == "paced" else { return nil }
        return parts.dropFirst()
    }

    /// The tokens a `paced` scenario sends (the fake's default is 10), or nil for scenarios not checked per token.
    static func pacedTokens(_ scenario: String) -> Int? {
        guard let parameters = pacedParameters(scenario) else { return nil }
        for part in parameters where part.hasPrefix("chunks=") {
            return Int(part.dropFirst(7))
        }
        return 10
    }

    /// Whether a `paced` scenario sends its tokens as a tool call's arguments (`tool=1`).
    static func pacedTokensInToolCall(_ scenario: String) -> Bool {
        pacedParameters(scenario)?.contains("tool=1") ?? false
    }

    /// The Anthropic request every arm carries: the given file or a small prompt, with the scenario marker
    /// appended to the last message (the fake reads it from the upstream body; the gateway forwards no headers).
    static func anthropicRequest(_ options: Options) throws -> JSONValue {
        let marker = "[[scenario:\(options.scenario)]]" + (options.unique ? " " + uniquePlaceholder : "")
        var root: JSONObject
        if let file = options.bodyFile {
            guard let bytes = readFileBytes(file), case .object(let object) = try JSONParser.parse(bytes) else {
                throw UsageError("cannot read a JSON object from \(file)")
            }
            root = object
            guard case .array(var messages)? = root["messages"], case .object(var last)? = messages.last else {
                throw UsageError("\(file) has no messages")
            }
            switch last["content"] {
            case .string(let text)?:
                last["content"] = .string(text + " " + marker)
            case .array(var blocks)?:
                blocks.append(.object(JSONObject([("type", .string("text")), ("text", .string(marker))])))
                last["content"] = .array(blocks)
            default:
                last["content"] = .string(marker)
            }
            messages[messages.count - 1] = .object(last)
            root["messages"] = .array(messages)
        } else {
            root = JSONObject([
                ("model", .string("claude-sonnet-4-5")), ("max_tokens", .int(1024)),
                ("messages", .array([
                    .object(JSONObject([
                        ("role", .string("user")),
                        ("content", .string("Write a haiku about load testing. " + marker)),
                    ]))
                ])),
            ])
        }
        if let model = options.model, options.api == .anthropic { root["model"] = .string(model) }
        root["stream"] = .bool(options.stream)
        if let temperature = options.temperature { root["temperature"] = .number(temperature) }
        return .object(root)
    }

    /// Where `--unique` writes each request's number; as many zeros as `UniqueNumber.digits`.
    static let uniquePlaceholder = "[[n:" + String(repeating: "0", count: UniqueNumber.digits) + "]]"

    static func makeSpec(_ options: Options) throws -> LoadSpec {
        let anthropic = try anthropicRequest(options)
        let bodyBytes: [UInt8]
        switch options.api {
        case .anthropic:
            bodyBytes = anthropic.serialized
        case .openai:
            // The same upstream body the gateway would send (prompt tuning off), so every arm asks the fake the same.
            let request = try Anthropic.MessagesRequest(json: anthropic)
            var upstream = try AnthropicToOpenAI.translate(
                request, catalog: ModelCatalog(), options: TranslationOptions(promptTuning: false)
            ).upstream
            upstream.stream = options.stream
            if let model = options.model { upstream.model = model }
            bodyBytes = upstream.jsonBytes()
        }
        var headers = HTTPHeaders()
        headers.add(name: "Host", value: "\(options.host):\(options.port)")
        headers.add(name: "Content-Type", value: "application/json")
        headers.add(name: "Content-Length", value: String(bodyBytes.count))
        headers.add(name: "Accept", value: options.stream ? "text/event-stream" : "application/json")
        headers.add(name: "User-Agent", value: "gateway-bench/1")
        for field in options.extraFields { headers.add(name: field.name, value: field.value) }
        switch options.api {
        case .anthropic:
            if let key = options.key { headers.add(name: "x-api-key", value: key) }
            headers.add(name: "anthropic-version", value: "2023-06-01")
        case .openai:
            if let key = options.key { headers.add(name: "Authorization", value: "Bearer \(key)") }
        }
        let path = options.path ?? (options.api == .anthropic ? "/v1/messages" : "/v1/chat/completions")
        let head = HTTPRequestHead(version: .http1_1, method: .POST, uri: path, headers: headers)
        let expect: Int? = options.expectTokens ?? pacedTokens(options.scenario)
        var uniqueOffset: Int?
        if options.unique {
            let placeholder = Array(uniquePlaceholder.utf8)
            guard let start = bodyBytes.indices.first(where: {
                bodyBytes[$0...].starts(with: placeholder)
            }) else { throw UsageError("load: --unique: the placeholder did not survive serialisation") }
            uniqueOffset = start + 4
        }
        return LoadSpec(
            host: options.host, port: options.port, api: options.api, head: head, body: ByteBuffer(bytes: bodyBytes),
            uniqueOffset: uniqueOffset,
            stream: options.stream, expectTokens: expect,
            tokensInToolCall: pacedTokensInToolCall(options.scenario), connections: options.connections,
            requests: options.requests, duration: options.duration ?? (options.requests == nil ? 5 : 300),
            rate: options.rate, grace: options.grace)
    }

    // MARK: - Running

    struct Outcome {
        var stats: RunStats
        var elapsed: Double
    }

    /// One run across every event loop: connect the pool, start together, wait, close.
    static func execute(_ spec: LoadSpec, group: MultiThreadedEventLoopGroup, threads: Int,
                        onBegin: () -> Void = {}) throws -> Outcome {
        let loops = (0..<threads).map { _ in group.next() }
        var drivers: [NIOLoopBound<LoadDriver>] = []
        for (i, loop) in loops.enumerated() {
            let share = { (total: Int) in total / threads + (i < total % threads ? 1 : 0) }
            let connections = share(spec.connections)
            let budget = spec.requests.map(share)
            let rate = spec.rate.map { $0 / Double(threads) }
            let bound = try loop.submit {
                NIOLoopBound(LoadDriver(loop: loop, spec: spec, connections: connections, budget: budget, rate: rate),
                             eventLoop: loop)
            }.wait()
            drivers.append(bound)
        }
        for (i, driver) in drivers.enumerated() {
            try loops[i].flatSubmit { driver.value.connectAll() }.wait()
        }
        onBegin()
        let start = Clock.monotonicNanos()
        let finished = drivers.enumerated().map { i, driver in
            loops[i].flatSubmit { driver.value.begin(start: start) }
        }
        for future in finished { try future.wait() }
        let elapsed = Double(Clock.monotonicNanos() - start) / 1e9
        var stats = RunStats()
        for (i, driver) in drivers.enumerated() {
            stats.merge(try loops[i].submit { driver.value.stats }.wait())
            try loops[i].flatSubmit { driver.value.shutdown() }.wait()
        }
        return Outcome(stats: stats, elapsed: elapsed)
    }

    /// Peak RSS of watched process trees, sampled on its own thread so the event loops stay undisturbed.
    final class RSSSampler: Sendable {
        private let peaks: Mutex<[String: Int]>
        private let running = Atomic<Bool>(true)
        private let watches: [(label: String, pids: [Int32])]
        private let interval: Int

        init(watches: [(label: String, pids: [Int32])], intervalMillis: Int) {
            self.watches = watches
            interval = intervalMillis
            peaks = Mutex([:])
        }

        func sampleOnce() {
            for watch in watches {
                let rss = ProcStats.treeRSSKiB(watch.pids)
                peaks.withLock { $0[watch.label] = max($0[watch.label] ?? 0, rss) }
            }
        }

        func start() -> pthread_t? {
            guard !watches.isEmpty else { return nil }
            let box = Unmanaged.passRetained(self)
            var thread = pthread_t()
            let rc = pthread_create(&thread, nil, { raw in
                let sampler = Unmanaged<RSSSampler>.fromOpaque(raw!).takeRetainedValue()
                while sampler.running.load(ordering: .relaxed) {
                    sampler.sampleOnce()
                    usleep(useconds_t(sampler.interval * 1_000))
                }
                return nil
            }, box.toOpaque())
            if rc != 0 {
                box.release()
                return nil
            }
            return thread
        }

        func stop(_ thread: pthread_t?) -> [String: Int] {
            running.store(false, ordering: .relaxed)
            if let thread { pthread_join(thread, nil) }
            sampleOnce()
            return peaks.withLock { $0 }
        }
    }

    /// A run with CPU and memory accounting around it.
    static func measuredRun(_ spec: LoadSpec, options: Options, group: MultiThreadedEventLoopGroup) throws -> [(
        key: String, value: JSONValue
    )] {
        let rssBefore = options.watches.map { ($0.label, ProcStats.treeRSSKiB($0.pids)) }
        var meters: [TreeCPUMeter] = []
        var generatorStart: UInt64 = 0
        var machineStart = ProcStats.machineTicks()
        let sampler = RSSSampler(watches: options.watches, intervalMillis: options.sampleMillis)
        var samplerThread: pthread_t?
        let outcome = try execute(spec, group: group, threads: options.threads) {
            meters = options.watches.map { TreeCPUMeter(label: $0.label, roots: $0.pids) }
            generatorStart = Clock.processCPUNanos()
            machineStart = ProcStats.machineTicks()
            samplerThread = sampler.start()
        }
        let generatorCPU = Double(Clock.processCPUNanos() - generatorStart) / 1e9
        let machineEnd = ProcStats.machineTicks()
        let peaks = sampler.stop(samplerThread)
        let cpu = meters.map { $0.finish() }
        var fields = describe(outcome, spec: spec)
        var cpuFields: [(key: String, value: JSONValue)] = []
        for (meter, json) in zip(meters, cpu) {
            var object = json.objectValue ?? JSONObject()
            let seconds = json["cpu_s"]?.doubleValue ?? 0
            if outcome.stats.ok > 0 {
                object["cpu_ms_per_1k_requests"] = .double(round3(seconds * 1e6 / Double(outcome.stats.ok)))
            }
            if outcome.stats.chunks > 0 {
                object["cpu_ms_per_100k_chunks"] = .double(round3(seconds * 1e8 / Double(outcome.stats.chunks)))
            }
            object["cpu_util"] = .double(round3(seconds / max(outcome.elapsed, 1e-9)))
            let before = rssBefore.first { $0.0 == meter.label }?.1 ?? 0
            object["rss_before_kib"] = .int(before)
            object["rss_peak_kib"] = .int(peaks[meter.label] ?? 0)
            cpuFields.append((meter.label, .object(object)))
        }
        fields.append(("watch", .object(JSONObject(cpuFields))))
        // Everything else the machine ran meanwhile (other builds, other tenants): a noisy run shows here.
        let machineBusy = Double(machineEnd.busy &- machineStart.busy) / ProcStats.clockTicksPerSecond
        let machineTotal = Double(machineEnd.total &- machineStart.total) / ProcStats.clockTicksPerSecond
        let watched = cpu.reduce(0.0) { $0 + ($1["cpu_s"]?.doubleValue ?? 0) }
        fields.append(("machine_busy_cores", .double(round3(machineBusy / max(outcome.elapsed, 1e-9)))))
        fields.append(("machine_cores", .double(round3(machineTotal / max(outcome.elapsed, 1e-9)))))
        fields.append(("foreign_cpu_s", .double(round3(max(0, machineBusy - watched - generatorCPU)))))
        fields.append(("generator_cpu_s", .double(round3(generatorCPU))))
        fields.append(("generator_cpu_util", .double(round3(generatorCPU / max(outcome.elapsed, 1e-9)))))
        return fields
    }

    static func describe(_ outcome: Outcome, spec: LoadSpec) -> [(key: String, value: JSONValue)] {
        let stats = outcome.stats
        var errors: [(key: String, value: JSONValue)] = stats.errorCounts.sorted { $0.key < $1.key }.map {
            ($0.key, .int($0.value))
        }
        if stats.droppedArrivals > 0 { errors.append(("dropped_arrivals", .int(stats.droppedArrivals))) }
        var fields: [(key: String, value: JSONValue)] = [
            ("elapsed_s", .double(round3(outcome.elapsed))),
            ("ok", .int(stats.ok)), ("failed", .int(stats.failed)), ("aborted", .int(stats.aborted)),
            ("throughput_rps", .double(round3(Double(stats.ok) / max(outcome.elapsed, 1e-9)))),
            ("latency_us", stats.latency.summaryMicros),
            ("ttfb_us", stats.ttfb.summaryMicros),
            ("errors", .object(JSONObject(errors))),
            ("status", .object(JSONObject(stats.statusCounts.sorted { $0.key < $1.key }.map {
                (String($0.key), .int($0.value))
            }))),
            ("connections_opened", .int(stats.connectionsOpened)),
            ("connect_failures", .int(stats.connectFailures)),
            ("bytes_in", .int(stats.bytesIn)),
        ]
        if spec.stream {
            fields.append(("chunks", .int(stats.chunks)))
            fields.append(("chunks_per_s", .double(round3(Double(stats.chunks) / max(outcome.elapsed, 1e-9)))))
            fields.append(("sse_events", .int(stats.sseEvents)))
            fields.append(("ttft_us", stats.ttft.summaryMicros))
            fields.append(("gap_us", stats.gaps.summaryMicros))
            fields.append(("max_gap_per_stream_us", stats.maxGapPerStream.summaryMicros))
        }
        if spec.expectTokens != nil {
            let fidelity = stats.fidelityChecked > 0 && stats.fidelityFailed == 0
            fields.append(("fidelity", .object(JSONObject([
                ("checked", .int(stats.fidelityChecked)), ("failed", .int(stats.fidelityFailed)),
                ("ok", .bool(fidelity)),
            ]))))
        }
        if let failure = stats.firstFailure { fields.append(("first_failure", .string(String(failure.prefix(400))))) }
        return fields
    }

    static func header(_ options: Options, spec: LoadSpec, mode: String) -> [(key: String, value: JSONValue)] {
        var fields: [(key: String, value: JSONValue)] = [
            ("kind", .string("load")), ("label", .string(options.label)), ("arm", .string(options.arm)),
            ("api", .string(options.api.rawValue)),
            ("url", .string("http://\(options.host):\(options.port)\(spec.head.uri)")),
            ("mode", .string(mode)), ("stream", .bool(spec.stream)), ("scenario", .string(options.scenario)),
            ("connections", .int(spec.connections)), ("threads", .int(options.threads)),
            ("request_bytes", .int(spec.body.readableBytes)),
        ]
        if let requests = spec.requests { fields.append(("requests_budget", .int(requests))) }
        fields.append(("duration_budget_s", .double(spec.duration)))
        if let rate = spec.rate { fields.append(("rate_target", .double(rate))) }
        if let expect = spec.expectTokens { fields.append(("expect_tokens", .int(expect))) }
        fields.append(contentsOf: options.tags)
        return fields
    }

    static func run(_ options: Options) throws -> JSONValue {
        let spec = try makeSpec(options)
        let group = MultiThreadedEventLoopGroup(numberOfThreads: options.threads)
        defer { try? group.syncShutdownGracefully() }
        if let target = options.findRateP99Millis {
            return try findRate(spec, options: options, group: group, p99Millis: target)
        }
        var fields = header(options, spec: spec, mode: spec.rate == nil ? "closed" : "open")
        fields.append(contentsOf: try measuredRun(spec, options: options, group: group))
        return .object(JSONObject(fields))
    }

    // MARK: - Throughput at a latency bound

    /// The highest open-loop arrival rate whose p99 stays within `p99Millis` with no failures.
    ///
    /// A closed-loop probe gives the saturated throughput T; open-loop probes then bisect between the highest
    /// passing and the lowest failing rate, starting at T (up by 1.3× while passing, down by 2.5× while failing).
    static func findRate(_ base: LoadSpec, options: Options, group: MultiThreadedEventLoopGroup,
                         p99Millis: Double) throws -> JSONValue {
        var fields = header(options, spec: base, mode: "find_rate")
        fields.append(("p99_target_ms", .double(p99Millis)))
        var probes: [JSONValue] = []
        var closed = base
        closed.rate = nil
        closed.requests = nil
        closed.duration = options.probeDuration
        closed.grace = min(base.grace, 5)
        let saturated = try execute(closed, group: group, threads: options.threads)
        let ceiling = Double(saturated.stats.ok) / max(saturated.elapsed, 1e-9)
        var probeFields = describe(saturated, spec: closed)
        probeFields.insert(("mode", .string("closed")), at: 0)
        probes.append(.object(JSONObject(probeFields)))

        func probe(_ rate: Double) throws -> (pass: Bool, json: JSONValue, achieved: Double, p99: Double) {
            var open = closed
            open.rate = rate
            let outcome = try execute(open, group: group, threads: options.threads)
            let achieved = Double(outcome.stats.ok) / max(outcome.elapsed, 1e-9)
            let p99 = Double(outcome.stats.latency.value(atQuantile: 0.99)) / 1e6
            // Completions over the whole elapsed time (which includes the drain) undercount a little.
            let pass = outcome.stats.failed == 0 && outcome.stats.aborted == 0 && outcome.stats.droppedArrivals == 0
                && p99 <= p99Millis && Double(outcome.stats.ok) >= 0.97 * rate * open.duration
            var json = describe(outcome, spec: open)
            json.insert(("mode", .string("open")), at: 0)
            json.insert(("rate_target", .double(round3(rate))), at: 1)
            json.append(("pass", .bool(pass)))
            return (pass, .object(JSONObject(json)), achieved, p99)
        }

        // Bisection on the rate: above T while probes pass, down by 2.5× while they fail, then halve the gap.
        var best: (rate: Double, achieved: Double, p99: Double)?
        var failing: Double?
        var rate = max(ceiling, 1)
        for _ in 0..<options.maxProbes where ceiling > 0 {
            let result = try probe(rate)
            probes.append(result.json)
            if result.pass {
                best = (rate, result.achieved, result.p99)
                rate = failing.map { (rate + $0) / 2 } ?? rate * 1.3
            } else {
                failing = rate
                rate = best.map { ($0.rate + rate) / 2 } ?? rate * 0.4
            }
            if let low = best?.rate, let high = failing, (high - low) / high < 0.05 { break }
            if rate < 1 { break }
        }
        fields.append(("saturated_rps", .double(round3(ceiling))))
        fields.append(("saturated_p99_us", .double(round3(
            Double(saturated.stats.latency.value(atQuantile: 0.99)) / 1e3))))
        fields.append(("best_rate_rps", .double(round3(best?.rate ?? 0))))
        fields.append(("best_rate_p99_us", .double(round3((best?.p99 ?? 0) * 1e3))))
        fields.append(("probes", .array(probes)))
        return .object(JSONObject(fields))
    }
}

extension StringProtocol {
    func trimmingCharacters(in set: Character) -> String {
        var s = Substring(self)
        while s.first == set { s.removeFirst() }
        while s.last == set { s.removeLast() }
        return String(s)
    }
}
