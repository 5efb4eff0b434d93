import NIOCore
import NIOHTTP1

/// Rendering a `Turn` plus an `Ending` into a script: SSE chunks for streams, one body otherwise.
extension ScenarioPlayer {
    var interval: TimeAmount {
        // utf8_split spaces its 3-byte slices a little so the reader really sees them apart.
        spec.milliseconds("interval_ms") ?? (spec.scenario == .utf8Split ? .microseconds(50) : .zero)
    }

    func streamScript(turn: Turn, ending: Ending, meta: CompletionMeta, delay: TimeAmount) -> ResponseScript {
        let writer = ChunkWriter(meta: meta)
        var events: [StreamEvent] = [.buffer(writer.role())]
        for piece in turn.reasoning { events.append(.buffer(writer.reasoning(piece))) }
        switch turn.content {
        case .pieces(let pieces):
            for piece in pieces { events.append(.buffer(writer.content(piece))) }
        case .tokens(let count):
            events.append(.tokens(count, .content))
        }
        events += toolCallEvents(turn, writer: writer)

        var terminal = ResponseStep.end
        switch ending {
        case .normal, .cut:
            let usage = request.includeUsage ? meta.usage : nil
            events.append(.buffer(writer.finish(reason: turn.finishReason, stopReason: turn.stopReason, usage: usage)))
            events.append(.done)
        case .usageSeparate:
            events.append(.buffer(writer.finish(reason: turn.finishReason, stopReason: turn.stopReason, usage: nil)))
            events.append(.buffer(writer.usageOnly(meta.usage)))
            events.append(.done)
        case .noDone:
            events.append(
                .buffer(writer.finish(reason: turn.finishReason, stopReason: turn.stopReason, usage: meta.usage))
            )
        case .midstreamError:
            events.append(.buffer(ChunkWriter.midstreamError()))
        case .drop:
            terminal = .drop(reset: spec.params["rst"] == "1")
        case .malformed:
            events.append(.buffer(ChunkWriter.malformed()))
            events.append(.done)
        case .idle:
            terminal = .hang
        }

        var builder = ScriptBuilder()
        builder.head(CannedResponse.head(.ok, headers: CannedResponse.streamHeaders))
        if case .cut(let bytes) = ending {
            var all = ByteBuffer()
            for event in expanded(events, writer: writer) { all.writeImmutableBuffer(event) }
            Self.appendCut(of: all, bytes: bytes, to: &builder)
            return ResponseScript(segments: builder.segments, delay: delay, flushEachEvent: true)
        } else if spec.scenario == .utf8Split {
            var all = ByteBuffer()
            for event in expanded(events, writer: writer) { all.writeImmutableBuffer(event) }
            Self.appendSlices(of: all, size: 3, to: &builder)
        } else if spec.scenario == .sseComments {
            for (i, event) in expanded(events, writer: writer).enumerated() {
                if i > 0 { builder.event(ChunkWriter.keepAliveComment) }
                builder.event(event)
            }
        } else {
            for event in events {
                switch event {
                case .buffer(let buffer):
                    builder.event(buffer)
                case .done:
                    // `[DONE]` follows the finish chunk at once, as it does from Cerebras.
                    builder.event(ChunkWriter.done, paced: false)
                case .tokens(let count, let place):
                    builder.tokens(count, writer: writer, place: place)
                }
            }
        }
        append(terminal, to: &builder)
        return ResponseScript(
            segments: builder.segments,
            delay: delay,
            interval: interval,
            flushEachEvent: true,
            coalesceLateEvents: spec.scenario == .paced && spec.params["coalesce"] != "0"
        )
    }

    func plainScript(turn: Turn, ending: Ending, meta: CompletionMeta, delay: TimeAmount) -> ResponseScript {
        var builder = ScriptBuilder()
        switch ending {
        case .cut(let bytes):
            let body = ByteBuffer(string: CompletionWriter.body(for: turn, meta: meta))
            builder.head(CannedResponse.head(.ok, headers: CannedResponse.jsonHeaders(length: body.readableBytes)))
            Self.appendCut(of: body, bytes: bytes, to: &builder)
            return ResponseScript(segments: builder.segments, delay: delay, flushEachEvent: true)
        case .normal, .usageSeparate, .noDone:
            let body = ByteBuffer(string: CompletionWriter.body(for: turn, meta: meta))
            if spec.scenario == .utf8Split {
                builder.head(CannedResponse.head(.ok, headers: CannedResponse.jsonHeaders(length: body.readableBytes)))
                Self.appendSlices(of: body, size: 3, to: &builder)
                builder.end()
                return ResponseScript(
                    segments: builder.segments,
                    delay: delay,
                    interval: interval,
                    flushEachEvent: true
                )
            }
            // `content_type=…`: the body's media type in another spelling (`Application/JSON`).
            return CannedResponse.json(.ok, body: body, contentType: spec.params["content_type"] ?? "application/json",
                                       delay: delay)
        case .midstreamError:
            return CannedResponse.error(.generationFailed, delay: delay)
        case .malformed:
            let body = ByteBuffer(
                string: #"{"id":"\#(meta.id)","object":"chat.completion","choices":[{"index":0,"message":{"content":"#
            )
            return CannedResponse.json(.ok, body: body, delay: delay)
        case .drop:
            builder.drop(reset: spec.params["rst"] == "1")
        case .idle:
            builder.hang()
        }
        return ResponseScript(segments: builder.segments, delay: delay, flushEachEvent: false)
    }

    private enum StreamEvent {
        case buffer(ByteBuffer)
        case tokens(Int, ChunkWriter.TokenPlace)
        case done
    }

    private func expanded(_ events: [StreamEvent], writer: ChunkWriter) -> [ByteBuffer] {
        events.flatMap { event -> [ByteBuffer] in
            switch event {
            case .buffer(let buffer): return [buffer]
            case .tokens(let count, let place): return (0..<count).map { writer.token($0, in: place) }
            case .done: return [ChunkWriter.done]
            }
        }
    }

    private func toolCallEvents(_ turn: Turn, writer: ChunkWriter) -> [StreamEvent] {
        let perCall: [[StreamEvent]] = turn.toolCalls.enumerated().map { index, call in
            if call.whole {
                return [.buffer(writer.toolCallStart(index: index, call: call, arguments: call.arguments))]
            }
            var events: [StreamEvent] = [.buffer(writer.toolCallStart(index: index, call: call, arguments: ""))]
            events += call.fragments.map { .buffer(writer.toolCallArguments(index: index, fragment: $0)) }
            if call.pacedTokens > 0 {
                events.insert(.tokens(call.pacedTokens, .toolArguments(index: index)), at: min(2, events.count))
            }
            return events
        }
        var out: [StreamEvent] = []
        if turn.interleaveToolCalls {
            // Round-robin: call 1 starts before call 0's arguments are complete, as parallel calls do.
            let longest = perCall.map(\.count).max() ?? 0
            for i in 0..<longest {
                for call in perCall where i < call.count { out.append(call[i]) }
            }
        } else {
            out = perCall.flatMap { $0 }
        }
        if turn.resendToolCalls {
            for (index, call) in turn.toolCalls.enumerated() {
                out.append(.buffer(writer.toolCallStart(index: index, call: call, arguments: call.arguments)))
            }
        }
        return out
    }

    private func append(_ terminal: ResponseStep, to builder: inout ScriptBuilder) {
        switch terminal {
        case .end: builder.end()
        case .drop(let reset): builder.drop(reset: reset)
        case .hang: builder.hang()
        case .head, .event: preconditionFailure("not a terminal step: \(terminal)")
        }
    }

    /// The first `bytes` of the body, then the connection lost (FIN).
    private static func appendCut(of buffer: ByteBuffer, bytes: Int, to builder: inout ScriptBuilder) {
        builder.event(buffer.getSlice(at: buffer.readerIndex, length: min(max(0, bytes), buffer.readableBytes))!)
        builder.drop(reset: false)
    }

    private static func appendSlices(of buffer: ByteBuffer, size: Int, to builder: inout ScriptBuilder) {
        var rest = buffer
        while let slice = rest.readSlice(length: min(size, rest.readableBytes)), slice.readableBytes > 0 {
            builder.event(slice)
        }
    }
}
