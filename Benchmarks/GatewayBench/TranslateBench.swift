import Shared

/// `gateway-bench translate`: CPU cost of the gateway's pure request and stream translation, no network.
///
/// Each measurement runs a batch of iterations and divides the thread CPU time (`CLOCK_THREAD_CPUTIME_ID`)
/// by the batch size; the batch is repeated and the median reported, so a preemption in one batch is dropped.
enum TranslateBench {
    static let defaultFixture = "Tests/Fixtures/claude-code-request/anthropic.request.json"
    static let upstreamChunk =
        #"data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"zai-glm-4.7","#
        + #""choices":[{"index":0,"delta":{"content":"tok "},"finish_reason":null}]}"# + "\n\n"
    /// A content chunk that opens a think block (Qwen-style reasoning in `content`): the same chunk after it is
    /// reasoning.
    static let upstreamThinkOpening =
        #"data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"qwen-3-32b","#
        + #""choices":[{"index":0,"delta":{"content":"<think>"},"finish_reason":null}]}"# + "\n\n"
    /// Reasoning in its own field, as GLM and gpt-oss send it: the first such chunk opens the thinking block.
    static let upstreamReasoningChunk =
        #"data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"zai-glm-4.7","#
        + #""choices":[{"index":0,"delta":{"reasoning":"tok "},"finish_reason":null}]}"# + "\n\n"
    /// A tool call's first chunk (its id, name and the start of its arguments), then one fragment of its arguments
    /// a chunk, as an upstream that streams a call's arguments sends them.
    static let upstreamToolCallOpening =
        #"data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"zai-glm-4.7","#
        + #""choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"call_1","type":"function","#
        + #""function":{"name":"Write","arguments":"{\"content\":\""}}]},"finish_reason":null}]}"# + "\n\n"
    static let upstreamToolCallChunk =
        #"data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"zai-glm-4.7","#
        + #""choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"tok "}}]},"#
        + #""finish_reason":null}]}"# + "\n\n"

    /// A fragment of a file's code as a tool call streams it, `\n    return \"ok\"` in the arguments' own JSON:
    /// five escapes once that is a JSON string again (agents write code, and every line of it ends in a newline).
    static let upstreamToolCodeChunk =
        #"data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"zai-glm-4.7","#
        + #""choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"#
        + #""\\n    return \\\"ok\\\""}}]},"finish_reason":null}]}"# + "\n\n"

    /// The chunks measured one stream at a time: `name` for `--only chunk:<name>`, `field` in the output, and the
    /// chunk that puts the stream in the state measured, if the measured chunk alone does not.
    static let chunkKinds: [(name: String, field: String, chunk: String, opening: String?)] = [
        ("text", "chunk_us", upstreamChunk, nil),
        ("think", "think_chunk_us", upstreamChunk, upstreamThinkOpening),
        ("reasoning", "reasoning_chunk_us", upstreamReasoningChunk, nil),
        ("tool", "tool_chunk_us", upstreamToolCallChunk, upstreamToolCallOpening),
        ("code", "code_chunk_us", upstreamToolCodeChunk, upstreamToolCallOpening),
    ]

    /// Request translation target from the issue (µs per request) and the per-chunk one.
    static let requestTargetMicros = 300.0
    static let chunkTargetMicros = 3.0
    /// Turns of the continued conversation, starting with the fixture itself.
    static let conversationTurns = 20

    struct Options {
        var fixture = defaultFixture
        var repetitions = 7
        var requestIterations = 200
        var chunkIterations = 20_000
        /// Run only one part, for profilers: "request", "chunk" (every kind), "chunk:<kind>" (one of `chunkKinds`),
        /// "first-sight" (the worker's path over the fixture
        /// with empty memos, nothing else) or nil for both.
        var only: String?
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
            case "--fixture": options.fixture = try value()
            case "--reps": options.repetitions = try positiveInt(flag, value())
            case "--request-iters": options.requestIterations = try positiveInt(flag, value())
            case "--chunk-iters": options.chunkIterations = try positiveInt(flag, value())
            case "--only": options.only = try value()
            default: throw UsageError("translate: unknown argument \(flag)")
            }
        }
        return options
    }

    /// Keeps results observable so the optimiser cannot drop the work.
    nonisolated(unsafe) static var sink = 0

    static func run(_ options: Options) throws -> JSONValue {
        guard let fixture = readFileBytes(options.fixture) else {
            throw UsageError("cannot read fixture \(options.fixture) (run from the package root or pass --fixture)")
        }
        var fields: [(key: String, value: JSONValue)] = [
            ("kind", .string("translate")),
            ("fixture", .string(options.fixture)), ("fixture_bytes", .int(fixture.count)),
            ("repetitions", .int(options.repetitions)),
        ]
        if options.only == "first-sight" {
            let catalog = ModelCatalog()
            let micros = try measure(options.repetitions, options.requestIterations) {
                try workerPath(fixture, toolsOnly(ToolListMemo(capacity: 1)), catalog)
            }
            fields.append(("request_us", .double(round3(micros))))
            return .object(JSONObject(fields))
        }
        if options.only != "chunk" && options.only?.hasPrefix("chunk:") != true {
            // Full path first, then its stages separately to show where the time goes.
            let request = try Anthropic.MessagesRequest(json: JSONParser.parse(fixture))
            let catalog = ModelCatalog()
            let translationOptions = TranslationOptions(promptTuning: false)
            let translated = try AnthropicToOpenAI.translate(request, catalog: catalog, options: translationOptions)
            let parsed = try JSONParser.parse(fixture)

            // The worker's path: a memo that has not seen the tools (the first request of a tool list), and one that
            // has (every later turn of an agent that sends the same tools); no conversation memo in either.
            let full = try measure(options.repetitions, options.requestIterations) {
                try workerPath(fixture, toolsOnly(ToolListMemo(capacity: 1)), catalog)
            }
            let warmMemo = toolsOnly(ToolListMemo(capacity: 1))
            let repeatedTools = try measure(options.repetitions, options.requestIterations) {
                try workerPath(fixture, warmMemo, catalog)
            }
            // A conversation continued turn by turn, each turn through a worker's memos as they stand after the turn
            // before: with the conversation memo, and without it (tools known in both after the first turn).
            let turns = try ConversationTurns.make(from: fixture, turns: conversationTurns)
            func conversation(budgetBytes: Int, systemPrompts: Int = 0) throws -> Double {
                try measure(options.repetitions, max(1, options.requestIterations / turns.count)) {
                    let memos = TranslationMemos(tools: ToolListMemo(capacity: 1),
                                                 systems: SystemPromptMemo(capacity: systemPrompts),
                                                 conversations: ConversationMemo(budgetBytes: budgetBytes))
                    for turn in turns { try workerPath(turn, memos, catalog) }
                } / Double(turns.count)
            }
            let turnWithoutMemo = try conversation(budgetBytes: 0)
            let turnWithMemo = try conversation(budgetBytes: ConversationMemo.defaultBudgetBytes)
            // As a worker has them by default: the system prompt memo too.
            let turnWithAllMemos = try conversation(budgetBytes: ConversationMemo.defaultBudgetBytes, systemPrompts: 1)
            let parseOnly = try measure(options.repetitions, options.requestIterations) {
                if case .object(let object) = try JSONParser.parse(fixture) { sink &+= object.count }
            }
            let decodeOnly = try measure(options.repetitions, options.requestIterations) {
                sink &+= try Anthropic.MessagesRequest(json: parsed).messages.count
            }
            let translateOnly = try measure(options.repetitions, options.requestIterations) {
                sink &+= try AnthropicToOpenAI.translate(request, catalog: catalog, options: translationOptions)
                    .estimatedInputTokens
            }
            let encodeOnly = try measure(options.repetitions, options.requestIterations) {
                sink &+= translated.upstream.jsonBytes().count
            }
            fields.append(("request_us", .double(round3(full))))
            fields.append(("request_target_us", .double(requestTargetMicros)))
            fields.append(("request_met", .bool(full <= requestTargetMicros)))
            fields.append(("request_known_tools_us", .double(round3(repeatedTools))))
            fields.append(("request_known_tools_met", .bool(repeatedTools <= requestTargetMicros)))
            fields.append(("conversation_turns", .int(turns.count)))
            fields.append(("conversation_turn_us", .double(round3(turnWithoutMemo))))
            fields.append(("conversation_turn_memo_us", .double(round3(turnWithMemo))))
            fields.append(("conversation_turn_all_memos_us", .double(round3(turnWithAllMemos))))
            fields.append(
                ("request_stages_us",
                 .object(JSONObject([
                     ("json_parse", .double(round3(parseOnly))), ("validate_decode", .double(round3(decodeOnly))),
                     ("translate", .double(round3(translateOnly))), ("encode_upstream", .double(round3(encodeOnly))),
                 ]))))
            fields.append(("upstream_bytes", .int(translated.upstream.jsonBytes().count)))
        }
        if options.only != "request" {
            let kinds = options.only?.hasPrefix("chunk:") == true
                ? chunkKinds.filter { "chunk:" + $0.name == options.only } : chunkKinds
            guard !kinds.isEmpty else { throw UsageError("translate: no chunk kind \(options.only ?? "")") }
            for kind in kinds {
                let measured = measureChunks(options.repetitions, options.chunkIterations,
                                             chunk: Array(kind.chunk.utf8), opening: kind.opening.map { Array($0.utf8) })
                fields.append((kind.field, .double(round3(measured.micros))))
                guard kind.name == "text" else { continue }
                fields.append(("chunk_target_us", .double(chunkTargetMicros)))
                fields.append(("chunk_met", .bool(measured.micros <= chunkTargetMicros)))
                fields.append(("chunk_sse_bytes_out", .int(measured.bytesOut)))
            }
        }
        return .object(JSONObject(fields))
    }

    /// A request through a worker's decode and translation with `memos`, as the worker runs it.
    static func workerPath(_ body: [UInt8], _ memos: TranslationMemos, _ catalog: ModelCatalog) throws {
        let decoded = try memos.decode(body, tenant: "bench")
        let translated = try memos.translate(decoded, body: body, catalog: catalog,
                                             options: TranslationOptions(promptTuning: false))
        sink &+= translated.upstream.jsonBytes().count
    }

    /// Memos with a tool list memo only (no system prompt or conversation memo).
    static func toolsOnly(_ tools: ToolListMemo) -> TranslationMemos {
        TranslationMemos(tools: tools, conversations: ConversationMemo(budgetBytes: 0))
    }

    /// Median over `repetitions` batches of µs per iteration of `body`.
    static func measure(_ repetitions: Int, _ iterations: Int, _ body: () throws -> Void) throws -> Double {
        for _ in 0..<max(1, iterations / 10) { try body() }  // warm-up
        var samples: [Double] = []
        for _ in 0..<repetitions {
            let start = Clock.threadCPUNanos()
            for _ in 0..<iterations { try body() }
            samples.append(Double(Clock.threadCPUNanos() - start) / Double(iterations) / 1_000)
        }
        return median(samples)
    }

    /// One stream: `start`, then the same one-token chunk fed `iterations` times, each turned into SSE bytes; after
    /// `opening` when given (a chunk that puts the stream in another state first, such as a leading `<think>`).
    static func measureChunks(
        _ repetitions: Int, _ iterations: Int, chunk: [UInt8], opening: [UInt8]? = nil
    ) -> (micros: Double, bytesOut: Int) {
        var samples: [Double] = []
        var bytesOut = 0
        for repetition in 0...repetitions {
            var stream = UpstreamStreamTranslator(
                translator: OpenAIStreamToAnthropic(
                    messageID: "msg_bench", model: "claude-sonnet-4-5", estimatedInputTokens: 1_000,
                    makeToolID: { "toolu_bench" }))
            var events: [AnthropicEvent] = []
            var writer = JSONWriter(capacity: 4096)
            stream.start(into: &events)
            if let opening { stream.feed(opening, into: &events) }
            // The first content chunk opens the text block; measure the steady state after it.
            stream.feed(chunk, into: &events)
            events.removeAll(keepingCapacity: true)
            let start = Clock.threadCPUNanos()
            for _ in 0..<iterations {
                stream.feed(chunk, into: &events)
                for event in events { SSEWriter.write(event, to: &writer) }
                bytesOut = writer.count
                events.removeAll(keepingCapacity: true)
                writer.removeAll()
            }
            let elapsed = Clock.threadCPUNanos() - start
            sink &+= bytesOut
            if repetition > 0 { samples.append(Double(elapsed) / Double(iterations) / 1_000) }  // first is warm-up
        }
        return (median(samples), bytesOut)
    }
}

func median(_ values: [Double]) -> Double {
    guard !values.isEmpty else { return 0 }
    let sorted = values.sorted()
    let mid = sorted.count / 2
    return sorted.count % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
}

func round3(_ value: Double) -> Double { (value * 1_000).rounded() / 1_000 }

struct UsageError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

func positiveInt(_ flag: String, _ raw: String) throws -> Int {
    guard let value = Int(raw), value > 0 else { throw UsageError("bad value for \(flag): \(raw)") }
    return value
}

func positiveDouble(_ flag: String, _ raw: String) throws -> Double {
    guard let value = Double(raw), value > 0 else { throw UsageError("bad value for \(flag): \(raw)") }
    return value
}
