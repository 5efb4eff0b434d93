import Shared

/// The client-to-upstream path: body bytes → `JSONParser` → `Anthropic.MessagesRequest(json:)` →
/// `AnthropicToOpenAI.translate` → `OpenAI.ChatRequest.jsonBytes()`, plus `TokenEstimator`.
///
/// Invariants (any violation aborts, which libFuzzer saves as a crash):
/// - nothing traps or hangs; each stage fails only with its documented error type;
/// - a parsed document serialises back to bytes that parse to the same document;
/// - when translation succeeds the upstream body is valid JSON, an object with `model`, `messages` and a
///   positive `max_completion_tokens`, and every assistant `tool_calls` entry is answered by a following
///   `role: tool` message (OpenAI-compatible servers reject the request otherwise), with no tool message that
///   answers no call;
/// - the estimate is positive and equals `TokenEstimator.count` of the upstream request;
/// - `TokenEstimator.count(text)` is monotonic under appending and sub-additive, and > 0 for non-blank text;
/// - the tool list memo is only a cache: through it, the first time and with the body's tools known, a body gives
///   exactly what the plain path gives (the same upstream bytes and estimate, or the same error), and so does the
///   body cut right after its `tools` value and closed, which the memo then meets as known bytes in a new document.
public func fuzzRequest(_ input: [UInt8]) {
    checkTokenEstimator(input)
    checkMemos(input)

    let json: JSONValue
    do {
        json = try JSONParser.parse(input)
    } catch is JSONParseError {
        return
    } catch {
        invariantFailed("JSONParser threw \(type(of: error)): \(error)")
    }
    let reparsed: JSONValue
    do {
        reparsed = try JSONParser.parse(json.serialized)
    } catch {
        invariantFailed("serialised document does not parse (\(error)): \(shown(json.serializedString))")
    }
    check(reparsed == json, "document changed through serialisation: \(shown(json)) → \(shown(reparsed))")

    let request: Anthropic.MessagesRequest
    do {
        request = try Anthropic.MessagesRequest(json: json)
    } catch let error as RequestValidationError {
        _ = GatewayError.invalidRequest(error).body(requestID: "req_f")
        return
    } catch {
        invariantFailed("MessagesRequest(json:) threw \(type(of: error)): \(error)")
    }

    for (name, catalog, options, enforce) in configurations {
        do {
            let translated = try AnthropicToOpenAI.translate(request, catalog: catalog, options: options,
                                                             enforceContextWindow: enforce)
            checkUpstream(translated, configuration: name)
        } catch {
            // Typed throws: always a GatewayError. Its body must be valid JSON too.
            let body = error.body(requestID: "req_f")
            check((try? JSONParser.parse(body)) != nil, "error body is not JSON: \(shown(String(decoding: body, as: UTF8.self)))")
        }
    }
}

/// The default configuration, and one with every option turned the other way (vision, media placeholder,
/// output clamp, no prompt tuning, a catalog with a `?` rule and a profile per reasoning control).
private let configurations: [(String, ModelCatalog, TranslationOptions, Bool)] = {
    var vision = ModelCatalog(rules: [
        ModelCatalog.Rule(pattern: "*opus*", target: "zai-glm-4.6"),
        ModelCatalog.Rule(pattern: "claude-?-*", target: "llama3.1-8b"),
        ModelCatalog.Rule(pattern: "claude-*", target: "gpt-oss-120b"),
        ModelCatalog.Rule(pattern: "x*", target: "unknown-backend"),
    ])
    for name in vision.profiles.keys { vision.profiles[name]?.supportsVision = true }
    return [
        ("default", ModelCatalog(), TranslationOptions(), true),
        ("vision+placeholder+clamp", vision,
         TranslationOptions(promptTuning: false, maxOutputTokensClamp: 1000, unsupportedMediaPlaceholder: "[media]"),
         false),
    ]
}()

private func checkUpstream(_ translated: TranslatedRequest, configuration: String) {
    let upstream = translated.upstream
    let bytes = upstream.jsonBytes()
    let body: JSONValue
    do {
        body = try JSONParser.parse(bytes)
    } catch {
        invariantFailed("[\(configuration)] upstream body is not valid JSON (\(error)): \(shown(String(decoding: bytes, as: UTF8.self), limit: 2000))")
    }
    check(body["model"]?.stringValue == upstream.model, "[\(configuration)] upstream model \(shown(body["model"]))")
    guard let messages = body["messages"]?.arrayValue else {
        invariantFailed("[\(configuration)] upstream body without messages: \(shown(body))")
    }
    let upstreamCount = (upstream.system == nil ? 0 : 1) + upstream.conversation.count
    check(messages.count == upstreamCount, "[\(configuration)] \(upstreamCount) messages, \(messages.count) in the body")
    let maxTokens = body["max_completion_tokens"]?.intValue ?? 0
    check(maxTokens >= 1, "[\(configuration)] max_completion_tokens \(shown(body["max_completion_tokens"]))")
    check(maxTokens <= translated.profile.maxOutputTokens, "[\(configuration)] max_completion_tokens \(maxTokens) above the profile's \(translated.profile.maxOutputTokens)")
    check(translated.estimatedInputTokens > 0, "[\(configuration)] estimate \(translated.estimatedInputTokens)")
    check(translated.estimatedInputTokens == TokenEstimator.count(upstream),
          "[\(configuration)] estimate \(translated.estimatedInputTokens) is not the count of the upstream request \(TokenEstimator.count(upstream))")
    if let temperature = upstream.temperature {
        check((0...1.5).contains(temperature), "[\(configuration)] temperature \(temperature) outside Cerebras's range")
    }

    // Tool-call pairing, as an OpenAI-compatible server checks it.
    var waiting: Set<String>? = nil  // ids of the latest assistant tool calls not yet answered
    var answerable: Set<String> = []
    for (index, message) in messages.enumerated() {
        let role = message["role"]?.stringValue ?? "?"
        check(["system", "user", "assistant", "tool"].contains(role), "[\(configuration)] message \(index) role \(role)")
        if role == "tool" {
            guard let id = message["tool_call_id"]?.stringValue else {
                invariantFailed("[\(configuration)] tool message \(index) without tool_call_id: \(shown(message))")
            }
            check(answerable.contains(id), "[\(configuration)] tool message \(index) answers \"\(id)\", which the preceding assistant message did not call\n\(shown(body, limit: 3000))")
            waiting?.remove(id)
            continue
        }
        if let waiting, !waiting.isEmpty {
            invariantFailed("[\(configuration)] message \(index) (\(role)) follows unanswered tool calls \(waiting.sorted())\n\(shown(body, limit: 3000))")
        }
        waiting = nil
        answerable = []
        if role == "assistant", let calls = message["tool_calls"]?.arrayValue, !calls.isEmpty {
            let ids = calls.compactMap { $0["id"]?.stringValue }
            check(ids.count == calls.count, "[\(configuration)] tool call without id in message \(index)")
            for call in calls {
                let arguments = call["function"]?["arguments"]?.stringValue ?? ""
                check((try? JSONParser.parse(arguments)) != nil, "[\(configuration)] tool call arguments are not JSON: \(shown(arguments))")
            }
            waiting = Set(ids)
            answerable = Set(ids)
        }
    }
    if let waiting, !waiting.isEmpty {
        invariantFailed("[\(configuration)] request ends with unanswered tool calls \(waiting.sorted())")
    }
}

private func checkMemos(_ input: [UInt8]) {
    let plain = plainOutcome(input)
    let memos = TranslationMemos(tools: ToolListMemo(capacity: 2, minimumBytes: 1),
                                 systems: SystemPromptMemo(capacity: 2, minimumBytes: 1),
                                 conversations: ConversationMemo(budgetBytes: 1 << 20, minimumBytes: 2))
    let first = memoOutcome(input, memos)
    check(first.outcome == plain, "through the memos (first time): \(shown(first.outcome))\nplain: \(shown(plain))")
    let systemsKnown = memos.systems.lookupCounts.known
    let second = memoOutcome(input, memos)
    check(second.outcome == plain, "through the memos (again): \(shown(second.outcome))\nplain: \(shown(plain))")
    // The known system prompt made again without prompt tuning.
    let untuned = TranslationOptions(promptTuning: false)
    let untunedThroughMemos = memoOutcome(input, memos, options: untuned).outcome
    let untunedPlain = plainOutcome(input, options: untuned)
    check(untunedThroughMemos == untunedPlain,
          "through the memos, untuned: \(shown(untunedThroughMemos))\nplain: \(shown(untunedPlain))")
    // The plain parse says where the tools, messages and system are; a valid body's tools and system prompt must
    // be known the second time.
    guard let document = try? JSONParser.parse(input, offering: ["tools", "messages", "system"],
                                               recognise: { _, _ in nil })
    else {
        return
    }
    if let system = document.members[2], !plain.hasPrefix("error"), system.range.count <= SystemPromptMemo.maximumBytes {
        check(memos.systems.lookupCounts.known > systemsKnown,
              "a valid body's system prompt was not known the second time: \(shown(input))")
    }
    if let tools = document.members[0] {
        if !plain.hasPrefix("error"), tools.range.count <= ToolListMemo.maximumBytes {
            check(second.toolsKnown, "a valid body's tools were not known the second time: \(shown(input))")
        }
        let cut = Array(input[..<tools.range.upperBound]) + Array("}".utf8)
        let cutPlain = plainOutcome(cut)
        let cutThroughMemos = memoOutcome(cut, memos).outcome
        check(cutThroughMemos == cutPlain, "cut body through the memos: \(shown(cutThroughMemos))\nplain: \(shown(plain))")
    }
    // The same body with its conversation cut after each element (the memo knows the whole one), and a new
    // element after the known ones.
    guard let messages = document.members[1], !messages.elementEnds.isEmpty else { return }
    let head = Array(input[..<messages.range.lowerBound])
    let tail = Array(input[messages.range.upperBound...])
    for end in messages.elementEnds {
        let value = Array(input[messages.range.lowerBound..<(messages.range.lowerBound + end)])
        for ending in ["]", #",{"role":"user","content":"new"}]"#] {
            let body = head + value + Array(ending.utf8) + tail
            let cutPlain = plainOutcome(body)
            let throughMemos = memoOutcome(body, memos).outcome
            check(throughMemos == cutPlain, "conversation cut after \(end) bytes and \(ending) through the memos: "
                + "\(shown(throughMemos))\nplain: \(shown(cutPlain))")
        }
    }
}

/// The upstream body and estimate of the default configuration, or the error, as text.
private func outcome(_ translate: () throws -> (Anthropic.MessagesRequest, TranslatedRequest)) -> String {
    do {
        let (request, translated) = try translate()
        return String(decoding: translated.upstream.jsonBytes(), as: UTF8.self)
            + " estimate \(translated.estimatedInputTokens) dropped \(request.droppedServerTools)"
    } catch {
        return "error \(type(of: error)): \(error)"
    }
}

private func plainOutcome(_ input: [UInt8], options: TranslationOptions = TranslationOptions()) -> String {
    outcome {
        let request = try Anthropic.MessagesRequest(json: JSONParser.parse(input))
        return (request, try AnthropicToOpenAI.translate(request, catalog: ModelCatalog(), options: options))
    }
}

private func memoOutcome(
    _ input: [UInt8], _ memos: TranslationMemos, options: TranslationOptions = TranslationOptions()
) -> (outcome: String, toolsKnown: Bool) {
    var known = false
    let text = outcome {
        let decoded = try memos.decode(input, tenant: "fuzz")
        known = decoded.toolsWereKnown
        return (decoded.request, try memos.translate(decoded, body: input, catalog: ModelCatalog(), options: options))
    }
    return (text, known)
}

private func checkTokenEstimator(_ input: [UInt8]) {
    let text = String(decoding: input, as: UTF8.self)
    let total = TokenEstimator.count(text)
    let scalars = text.unicodeScalars
    let blank = scalars.allSatisfy { $0 == " " || $0 == "\t" }
    check(blank || total > 0, "TokenEstimator gives 0 for non-blank text \(shown(text))")
    guard !scalars.isEmpty else { return }
    // A cut at a scalar boundary chosen by the input itself.
    let offset = Int(input[0]) % (scalars.count + 1)
    let cut = scalars.index(scalars.startIndex, offsetBy: offset)
    let prefix = String(scalars[..<cut])
    let suffix = String(scalars[cut...])
    let head = TokenEstimator.count(prefix)
    let tail = TokenEstimator.count(suffix)
    check(head <= total, "TokenEstimator not monotonic: \(head) for a prefix, \(total) for the whole of \(shown(text))")
    check(total <= head + tail, "TokenEstimator not sub-additive: \(total) > \(head) + \(tail) at scalar \(offset) of \(shown(text))")
}
