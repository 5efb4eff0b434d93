import NIOCore
import NIOHTTP1

/// Turns a selected scenario and the parsed request into a `ResponseScript`.
///
/// Each scenario is a `Turn` (what the model says) plus an `Ending` (how the response stops);
/// rendering is shared so every scenario has consistent stream and non-stream variants.
struct ScenarioPlayer {
    var spec: ScenarioSpec
    var request: ChatRequest
    /// The raw request body, for `echo`.
    var rawBody: ByteBuffer

    /// How a response stops once the turn's chunks are out.
    enum Ending {
        case normal
        case usageSeparate
        case noDone
        case midstreamError
        case drop
        case malformed
        case idle
        /// The whole answer due, its connection lost after this many bytes of the body (`flaky;cut=N`).
        case cut(bytes: Int)
    }

    static let defaultText = "Hello from the fake Cerebras."

    /// - Parameter cutAfter: lose the connection after this many bytes of the answer's body instead of ending it.
    func script(cutAfter: Int? = nil) -> ResponseScript {
        let delay = spec.milliseconds("delay_ms") ?? (spec.scenario == .slowFirst ? .seconds(3) : .zero)
        switch spec.scenario {
        case .rateLimited:
            return CannedResponse.error(
                .rateLimited(retryAfter: spec.params["retry_after"] ?? "1"),
                status: status(),
                delay: delay
            )
        case .serverError:
            return CannedResponse.error(.serverError(status: status() ?? .internalServerError), delay: delay)
        case .overloaded:
            return CannedResponse.error(.overloaded(), status: status(), delay: delay)
        case .contextLength:
            return CannedResponse.error(.contextLength(status: status() ?? .badRequest), delay: delay)
        default:
            break
        }
        var (turn, ending) = turnAndEnding()
        if let cutAfter { ending = .cut(bytes: cutAfter) }
        turn.resendToolCalls = spec.params["resend"] == "1"
        let usage = Usage(
            promptTokens: spec.int("tokens") ?? request.approximatePromptTokens,
            completionTokens: turn.completionTokens,
            cachedTokens: spec.int("cached") ?? 0
        )
        let meta = CompletionMeta(model: request.model, usage: usage)
        // `ignore_stream=1`: one JSON body even to a streamed request, as OpenAI-compatible servers that do not
        // stream answer.
        if request.stream, spec.params["ignore_stream"] != "1" {
            return streamScript(turn: turn, ending: ending, meta: meta, delay: delay)
        }
        return plainScript(turn: turn, ending: ending, meta: meta, delay: delay)
    }

    // MARK: - Scenario catalogue

    private func turnAndEnding() -> (Turn, Ending) {
        var turn = Turn()
        switch spec.scenario {
        case .paced:
            let count = spec.int("chunks") ?? 10
            guard spec.params["tool"] == "1" else {
                turn.content = .tokens(count)
                return (turn, .normal)
            }
            // The tokens as a tool call's arguments, `{"content":"tok0\ntok1\n…"}`: an agent writing a file.
            turn.toolCalls = [
                Turn.ToolCall(id: "call_paced", name: "write_file", fragments: [#"{"content":""#, #""}"#],
                              pacedTokens: count),
            ]
            turn.finishReason = "tool_calls"
            return (turn, .normal)
        case .toolSplit:
            turn.toolCalls = [Self.weatherCall(fragmentSize: 1)]
            turn.finishReason = "tool_calls"
            return (turn, .normal)
        case .toolInterleaved:
            turn.toolCalls = [
                Turn.ToolCall(id: "call_a", name: "read_file", fragments: fragments(#"{"path":"a.txt"}"#, size: 3)),
                Turn.ToolCall(id: "call_b", name: "list_dir", fragments: fragments(#"{"path":"/tmp"}"#, size: 3)),
            ]
            turn.interleaveToolCalls = true
            turn.finishReason = "tool_calls"
            return (turn, .normal)
        case .toolWhole:
            var call = Self.weatherCall(fragmentSize: 1_000)
            call.whole = true
            turn.toolCalls = [call]
            turn.finishReason = "tool_calls"
            return (turn, .normal)
        case .textThenTool:
            turn.content = content(default: "Let me check the weather.")
            turn.toolCalls = [Self.weatherCall(fragmentSize: 8)]
            turn.finishReason = "tool_calls"
            return (turn, .normal)
        case .reasoning:
            turn.reasoning = ["Let me", " think. "]
            turn.content = content(default: "I will look it up.")
            turn.toolCalls = [Self.weatherCall(fragmentSize: 8)]
            turn.finishReason = "tool_calls"
            return (turn, .normal)
        case .length:
            turn.content = content(default: "This answer goes on and on and")
            turn.finishReason = "length"
            return (turn, .normal)
        case .contentFilter:
            turn.content = content(default: "I cannot")
            turn.finishReason = "content_filter"
            return (turn, .normal)
        case .stopSequence:
            turn.content = content(default: "The answer is 42.")
            turn.stopReason = "END"
            return (turn, .normal)
        case .usageSeparate:
            turn.content = content(default: Self.defaultText)
            return (turn, .usageSeparate)
        case .midstreamError:
            turn.content = content(default: Self.defaultText)
            return (turn, .midstreamError)
        case .drop:
            turn.content = content(default: Self.defaultText)
            return (turn, .drop)
        case .malformed:
            turn.content = content(default: "Hello from")
            return (turn, .malformed)
        case .noDone:
            turn.content = content(default: Self.defaultText)
            return (turn, .noDone)
        case .idle:
            turn.content = content(default: "Hello")
            return (turn, .idle)
        case .utf8Split:
            turn.content = content(default: "héllo wörld 你好 🎉")
            return (turn, .normal)
        case .echo:
            turn.content = .pieces([String(decoding: rawBody.readableBytesView, as: UTF8.self)])
            return (turn, .normal)
        case .text, .slowFirst, .sseComments, .flaky,
            .rateLimited, .serverError, .overloaded, .contextLength:
            turn.content = content(default: Self.defaultText)
            return (turn, .normal)
        }
    }

    /// Content from `text=` (split into words), else `chunks=N` tokens, else the scenario's default words.
    private func content(default text: String) -> Turn.Content {
        if let given = spec.params["text"] { return .pieces(wordPieces(given)) }
        if let chunks = spec.int("chunks") { return .tokens(chunks) }
        return .pieces(wordPieces(text))
    }

    private static func weatherCall(fragmentSize: Int) -> Turn.ToolCall {
        Turn.ToolCall(
            id: "call_1",
            name: "get_weather",
            fragments: fragments(#"{"city":"Paris","unit":"c"}"#, size: fragmentSize)
        )
    }

    private func status() -> HTTPResponseStatus? {
        spec.int("status").map { HTTPResponseStatus(statusCode: $0) }
    }
}
