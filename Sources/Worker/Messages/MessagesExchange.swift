import Logging
import NIOCore
import NIOHTTP1
import Shared

/// One `POST /v1/messages`: translation, the upstream attempts with their retries, and the response — streamed
/// as SSE or folded into one message. Event-loop confined; curl's callbacks arrive via `AttemptDelegate`, after
/// the curl pass they came in.
///
/// The upstream is asked for what the client asked: a stream, or one `chat.completion` body. Both go through the
/// same translator (a body as the chunks a stream of it would carry) and a non-streaming client's answer is the fold
/// of its events, so the two modes cannot disagree; a client that leaves cancels the upstream transfer either way.
// @unchecked: every member is touched on the request's event loop only (curl runs on that loop too).
final class MessagesExchange: @unchecked Sendable {
    private let request: RequestExchange
    private let caller: Caller
    private var worker: WorkerContext { request.worker }
    private var loop: EventLoop { request.eventLoop }
    private var config: GatewayConfig { worker.config }

    private(set) var backendModel: String?
    private(set) var isStreaming = false
    private var requestedModel = ""
    private var estimatedInputTokens = 0
    private var upstreamBody = UpstreamBody.empty
    /// The bytes at the end of `upstreamBody` that say whether the answer is streamed (left out of the cache key).
    private var streamDependentSuffix = 0
    private var messageID = RandomID.make(prefix: "msg_")

    private var stream: UpstreamStreamTranslator?
    private var fold = AnthropicMessageFold()
    /// The events of one upstream read, handed on and emptied each time; made with room for a typical read (a reply
    /// of a few chunks: start, block start, deltas, block stop, message delta and stop), so it does not grow
    /// four times on the way.
    private var events: [AnthropicEvent] = {
        var events: [AnthropicEvent] = []
        events.reserveCapacity(16)
        return events
    }()
    private var writer = JSONWriter(capacity: 0)
    /// True once anything upstream-derived reached the client (or the fold): retries end there.
    private var contentDelivered = false

    // The current attempt.
    private var attempt = 0
    private var transfer: UpstreamTransfer?
    private var upstreamKey: String?
    private var upstreamStatus: Int?
    private var upstreamHeaders: [(name: String, value: String)] = []
    private var errorBody: [UInt8] = []
    private var isJSONBody = false
    private var firstAttemptAt = NIODeadline.now()
    private var retries = 0

    private var attemptStartedAt = NIODeadline.now()
    /// When the upstream last sent something (its response head first); nil while the attempt waits for the head.
    private var lastUpstreamActivity: NIODeadline?
    private var retryTimer: Scheduled<Void>?
    /// The loop's clock, which looks at the running attempt's upstream timeouts and pings a streaming client that
    /// has been sent nothing for a while; registered from the first attempt until the exchange finishes.
    private var clock: LoopClock?
    var loopClockSlot: Int?
    private var lastClientWrite = NIODeadline.now()
    private var timeToFirstToken: Double?
    private var holdsUpstreamSlot = false
    private var finished = false
    private var isCacheable = false
    /// Set on a cache miss: the complete answer is stored under it.
    private var cacheKey: String?
    /// Headers every response of this exchange carries (rate-limit figures, cache status).
    private var responseHeaders = HTTPHeaders()
    /// What the limiter charged, to correct once the real usage is known.
    private var rateLimit: (limits: RateLimits, reservation: Int)?
    private var rateLimitCorrection: Int?
    private let flow = AttemptDelegate.Flow()

    init(request: RequestExchange, caller: Caller) {
        self.request = request
        self.caller = caller
    }

    // MARK: - Start

    func start(body: ByteBuffer) {
        let translated: TranslatedRequest
        let droppedServerTools: [String]
        do {
            (translated, droppedServerTools) = try body.withUnsafeReadableBytes { raw in
                let body = raw.assumingMemoryBound(to: UInt8.self)
                let decoded = try worker.memos.decode(body, tenant: caller.tenant)
                requestedModel = decoded.request.model
                isStreaming = decoded.request.stream
                isCacheable = ResponseCacheKey.isCacheable(decoded.request)
                guard caller.allows(model: decoded.request.model) else {
                    throw GatewayError(.permission, "this API key may not use model \"\(decoded.request.model)\"")
                }
                let translated = try worker.memos.translate(decoded, body: body, catalog: config.catalog,
                                                            options: config.translation)
                return (translated, decoded.request.droppedServerTools)
            }
        } catch {
            finishWithError(RequestExchange.gatewayError(error))
            return
        }
        if !droppedServerTools.isEmpty {
            worker.logger.notice("dropped server tools the backend cannot run", metadata: [
                "request.id": .string(request.head.requestID),
                "tools.dropped": .string(droppedServerTools.joined(separator: ",")),
            ])
        }
        backendModel = translated.profile.name
        estimatedInputTokens = translated.estimatedInputTokens
        upstreamBody = translated.upstream.withJSONPieces { UpstreamBody(joining: $0) }
        streamDependentSuffix = translated.upstream.streamDependentSuffixCount
        admit()
    }

    // MARK: - Admission: rate limits, then the cache

    /// Asks the limiter and the cache together (one round trip with Redis); the limiter's word comes first.
    private func admit() {
        let plane = worker.controlPlane
        let cacheKey = plane.cache != nil && isCacheable
            ? ResponseCacheKey.key(tenant: caller.tenant, upstreamBody: upstreamBody,
                                   streamDependentSuffix: streamDependentSuffix)
            : nil
        guard plane.rateLimiter != nil || cacheKey != nil else {
            lookedUpCache(nil, key: nil)
            return
        }
        let admission = Admission(
            bucket: caller.tenant,
            limits: RateLimits(requestsPerMinute: caller.requestsPerMinute ?? config.rateLimitRPM,
                               tokensPerMinute: caller.tokensPerMinute ?? config.rateLimitTPM),
            // Tokens are reserved from the input estimate and corrected with the real usage at the end.
            tokens: estimatedInputTokens,
            cacheKey: cacheKey)
        // With Redis the answer comes on this loop (its connection is the loop's own); the master's limiter and
        // the embedded cache may answer elsewhere.
        plane.admit(admission) { [self] answer in
            if loop.inEventLoop {
                admitted(answer, admission: admission)
            } else {
                loop.execute { [self] in admitted(answer, admission: admission) }
            }
        }
    }

    private func admitted(_ answer: AdmissionAnswer, admission: Admission) {
        guard !finished else { return }
        switch answer.decision {
        case .success(let decision)?:
            responseHeaders.add(contentsOf: RateLimitHeaders.headers(for: decision))
            guard decision.allowed else {
                worker.metrics.increment(.rateLimited)
                finishWithError(GatewayError(
                    .rateLimited, "rate limit exceeded for this API key; retry after the time in retry-after",
                    retryAfter: decision.retryAfterSeconds ?? 1))
                return
            }
            rateLimit = (admission.limits, admission.tokens)
        case .failure(let error)?:
            worker.logger.warning("rate limiter unavailable", metadata: [
                "request.id": .string(request.head.requestID), "error": .string("\(error)"),
                "rate_limit.fail_open": .string(String(config.rateLimitFailOpen)),
            ])
            guard config.rateLimitFailOpen else {
                finishWithError(GatewayError(.overloaded, "the rate limiter is unavailable; retry shortly", retryAfter: 1))
                return
            }
        case nil:
            break
        }
        lookedUpCache(answer.cached, key: admission.cacheKey)
    }

    /// Tells the client whether the answer came from the gateway's cache.
    static let cacheHeader = "x-gateway-cache"

    /// Serves a cache hit, or goes upstream; `result` is nil when the cache was not asked.
    private func lookedUpCache(_ result: Result<[UInt8]?, CacheError>?, key: String?) {
        guard let result, let key else {
            if worker.controlPlane.cache != nil {
                worker.metrics.recordCacheLookup(.bypass)
                responseHeaders.replaceOrAdd(name: Self.cacheHeader, value: "BYPASS")
            }
            beginUpstream()
            return
        }
        switch result {
        case .success(let bytes?):
            if let message = try? JSONParser.parse(bytes),
                let replay = AnthropicMessageEvents.events(replaying: message, id: messageID, model: requestedModel)
            {
                worker.metrics.recordCacheLookup(.hit)
                responseHeaders.replaceOrAdd(name: Self.cacheHeader, value: "HIT")
                serveFromCache(replay)
                return
            }
            worker.metrics.recordCacheLookup(.error)
        case .success(nil):
            worker.metrics.recordCacheLookup(.miss)
            cacheKey = key
        case .failure(let error):
            worker.metrics.recordCacheLookup(.error)
            worker.logger.warning("cache unavailable; bypassing", metadata: [
                "request.id": .string(request.head.requestID), "error": .string("\(error)"),
            ])
        }
        responseHeaders.replaceOrAdd(name: Self.cacheHeader, value: "MISS")
        beginUpstream()
    }

    /// A cache hit: the same event grammar as a live answer, without an upstream call.
    private func serveFromCache(_ replay: [AnthropicEvent]) {
        if let rateLimit { rateLimitCorrection = -rateLimit.reservation }
        if isStreaming {
            request.beginStream(headers: streamHeaders())
        }
        emit(replay)
        complete()
    }

    // MARK: - Upstream

    private func beginUpstream() {
        guard worker.reserveUpstream() else {
            worker.metrics.increment(.shed)
            finishWithError(GatewayError(.overloaded, "the gateway is at capacity; retry shortly", retryAfter: 1))
            return
        }
        holdsUpstreamSlot = true
        worker.metrics.upstreamStarted(streaming: isStreaming)
        stream = makeStream()
        stream?.start(into: &events)
        if isStreaming {
            flow.streaming = true
            request.beginStream(headers: streamHeaders())
        }
        let clock = worker.clock(for: loop)
        clock.add(self)
        self.clock = clock
        deliverEvents()
        firstAttemptAt = .now()
        startAttempt()
    }

    /// A stream's head: the fields every answer carries, a stream's own, then the exchange's (rate limits, cache).
    private func streamHeaders() -> HTTPHeaders {
        request.baseHeaders(contentType: "text/event-stream", extra: Self.streamFields, more: responseHeaders)
    }

    private static let streamFields = [("cache-control", "no-cache"), ("x-accel-buffering", "no")]

    /// A fresh translator, already past the `message_start` the client has.
    private func restartStream() {
        stream = makeStream()
        var discarded: [AnthropicEvent] = []
        stream?.start(into: &discarded)
    }

    private func makeStream() -> UpstreamStreamTranslator {
        UpstreamStreamTranslator(translator: OpenAIStreamToAnthropic(
            messageID: messageID, model: requestedModel, estimatedInputTokens: estimatedInputTokens,
            makeToolID: { RandomID.make(prefix: "toolu_") }))
    }

    // MARK: - Attempts

    private func startAttempt() {
        attempt += 1
        upstreamStatus = nil
        upstreamHeaders = []
        errorBody = []
        isJSONBody = false
        let key: String?
        if case .passthrough(let own) = caller.kind {
            key = own
        } else {
            key = worker.keyPool.next(now: WallClock.now(), avoiding: upstreamKey)
        }
        guard let key else {
            fail(GatewayError(.api, "no upstream key is configured"))
            return
        }
        upstreamKey = key
        let delegate = AttemptDelegate(attempt: attempt, inbox: worker.inbox(for: loop), flow: flow, exchange: self)
        transfer = worker.upstream(for: loop).start(
            UpstreamRequest(url: worker.upstreamURL, apiKey: key, body: upstreamBody,
                            connectTimeoutMs: config.upstreamConnectTimeoutMs, verifyTLS: config.upstreamVerifyTLS),
            delegate: delegate)
        attemptStartedAt = .now()
        lastUpstreamActivity = nil
    }

    func upstreamHead(attempt: Int, status: Int, headers: [(name: String, value: String)]) {
        guard attempt == self.attempt, !finished else { return }
        lastUpstreamActivity = .now()
        upstreamStatus = status
        upstreamHeaders = headers
        if status == 200 {
            let contentType = headers.firstValue(named: "content-type")
            isJSONBody = contentType?.hasPrefixIgnoringASCIICase("application/json") == true
        }
    }

    func upstreamBody(attempt: Int, bytes: [UInt8]) {
        guard attempt == self.attempt, !finished else { return }
        lastUpstreamActivity = .now()
        guard upstreamStatus == 200 else {
            // An error body: kept (bounded) to map the error; never forwarded as is.
            if errorBody.count < 65_536 { errorBody.append(contentsOf: bytes.prefix(65_536 - errorBody.count)) }
            return
        }
        if isJSONBody {
            stream?.feedCompletionPart(bytes, into: &events)
            // Nothing unless the body outgrew its bound: then the error, which fails the attempt.
            deliverEvents()
            return
        }
        if timeToFirstToken == nil { recordFirstToken() }
        stream?.feed(bytes, into: &events)
        deliverEvents()
    }

    func upstreamCompleted(attempt: Int, error: UpstreamTransportError?) {
        guard attempt == self.attempt, !finished else { return }
        transfer = nil
        if let error {
            attemptFailed(.transport(error))
        } else if let status = upstreamStatus, status != 200 {
            attemptFailed(.status(status))
        } else if isJSONBody {
            if timeToFirstToken == nil { recordFirstToken() }
            stream?.endOfCompletion(into: &events)
            deliverEvents()
        } else {
            stream?.endOfBody(into: &events)
            deliverEvents()
        }
    }

    /// Cancels the running attempt (timeout) and treats it as failed.
    private func abandonAttempt(_ error: UpstreamTransportError) {
        guard !finished, let transfer else { return }
        worker.upstream(for: loop).cancel(transfer)
        self.transfer = nil
        attemptFailed(.transport(error))
    }

    /// The running attempt's two upstream timeouts, looked at on each tick of the loop's clock: no response head
    /// within the first-byte timeout, then no byte within the idle timeout. Upstream bytes only note the time.
    private func checkUpstreamTimeouts(now: NIODeadline) {
        guard transfer != nil else { return }
        if let lastUpstreamActivity {
            guard now - lastUpstreamActivity >= .fromSeconds(config.upstreamIdleTimeout) else { return }
            abandonAttempt(UpstreamTransportError(
                kind: .timeout, detail: "upstream sent nothing for \(config.upstreamIdleTimeout) s"))
        } else {
            guard now - attemptStartedAt >= .fromSeconds(config.upstreamFirstByteTimeout) else { return }
            abandonAttempt(UpstreamTransportError(
                kind: .timeout, detail: "upstream sent no response within \(config.upstreamFirstByteTimeout) s"))
        }
    }

    private enum AttemptFailure {
        case transport(UpstreamTransportError)
        case status(Int)
        /// The upstream answered 200 but its stream began with an error chunk.
        case streamError(GatewayError)
    }

    private func attemptFailed(_ failure: AttemptFailure) {
        // Before any content the client has seen at most `message_start` and pings: the retry, or the report of the
        // final failure, goes through a translator that has seen nothing of this attempt (a partial line or body, an
        // error chunk that finished it).
        if !contentDelivered { restartStream() }
        let error: GatewayError
        var serverDelay: Double?
        var retryable: Bool
        switch failure {
        case .transport(let transportError):
            worker.metrics.increment(.upstreamErrors, [("kind", transportError.kind == .timeout ? "timeout" : "connect")])
            retryable = transportError.kind != .other
            error = transportError.kind == .timeout
                ? GatewayError(.timeout, transportError.detail)
                : GatewayError(.overloaded, "upstream unavailable: \(transportError.detail)")
        case .status(let status):
            serverDelay = RetryPolicy.serverDelay(headers: upstreamHeaders)
            worker.metrics.increment(.upstreamErrors, [("kind", status == 429 ? "status_429" : "status_\(status / 100)xx")])
            if status == 429, let key = upstreamKey, case .gatewayKey = caller.kind {
                worker.keyPool.coolDown(key, seconds: serverDelay, now: WallClock.now())
            }
            retryable = UpstreamErrorMapping.isRetryable(status: status)
            error = UpstreamErrorMapping.map(status: status, body: errorBody, retryAfter: serverDelay)
        case .streamError(let streamError):
            worker.metrics.increment(.upstreamErrors, [("kind", "midstream")])
            retryable = streamError.kind == .overloaded || streamError.kind == .rateLimited || streamError.kind == .api
            error = streamError
        }
        if retryable, !contentDelivered, let delay = retryDelay(serverDelay: serverDelay) {
            retries += 1
            worker.metrics.increment(.upstreamRetries)
            worker.logger.notice("upstream attempt failed; retrying", metadata: [
                "request.id": .string(request.head.requestID), "upstream.error": .string(error.message),
                "retry.number": .string(String(retries)), "retry.delay_ms": .string(String(Int(delay * 1000))),
            ])
            retryTimer = loop.scheduleTask(in: .fromSeconds(delay)) { [self] in
                guard !finished else { return }
                startAttempt()
            }
            return
        }
        fail(error)
    }

    private func retryDelay(serverDelay: Double?) -> Double? {
        let policy = RetryPolicy(maxRetries: config.upstreamMaxRetries, budgetSeconds: config.upstreamRetryBudget,
                                 baseDelaySeconds: Double(config.upstreamRetryBaseMs) / 1000)
        let elapsed = Double((NIODeadline.now() - firstAttemptAt).nanoseconds) / 1e9
        return policy.delay(beforeRetry: retries + 1, serverDelay: serverDelay, elapsed: elapsed,
                            jitter: Double.random(in: 0..<1))
    }

    // MARK: - Events out

    /// - Parameter retryingErrors: false when delivering the final failure itself.
    private func deliverEvents(retryingErrors: Bool = true) {
        guard !events.isEmpty else { return }
        defer { events.removeAll(keepingCapacity: true) }
        // An error chunk before any content: the attempt failed, and a retry is still invisible to the client
        // (it has seen at most message_start and pings).
        if retryingErrors, !contentDelivered, events.count == 1, case .error(let error) = events[0] {
            events.removeAll(keepingCapacity: true)
            transfer.map { worker.upstream(for: loop).cancel($0) }
            transfer = nil
            attemptFailed(.streamError(error))
            return
        }
        emit(events)
        if stream?.isFinished == true { complete() }
    }

    private func emit(_ batch: [AnthropicEvent]) {
        for event in batch {
            if case .blockStart = event { contentDelivered = true }
            if isStreaming { SSEWriter.write(event, to: &writer) }
            if !isStreaming || cacheKey != nil { fold.consume(event) }
        }
        if isStreaming, !writer.isEmpty {
            // Lent from a local: writing to the client may call back into this exchange (a failed write closes the
            // connection), and whatever that writes goes through `writer` and out on its own.
            var outgoing = JSONWriter(capacity: 0)
            swap(&outgoing, &writer)
            outgoing.withBytes { request.streamBody($0) }
            outgoing.removeAll()
            swap(&outgoing, &writer)
            lastClientWrite = .now()
        }
    }

    /// Stores a completed answer when the cache was asked and missed (`cacheKey` is set then).
    private func cacheAnswer(_ body: @autoclosure () -> [UInt8]) {
        guard let cacheKey, let cache = worker.controlPlane.cache else { return }
        cache.put(key: cacheKey, value: body(), ttlSeconds: config.cacheTTLSeconds)
    }

    private func fail(_ error: GatewayError) {
        guard !finished else { return }
        if isStreaming, var stream {
            stream.fail(error, into: &events)
            self.stream = stream
            deliverEvents(retryingErrors: false)
        } else {
            finishWithError(error)
        }
    }

    private func complete() {
        guard !finished else { return }
        if isStreaming {
            if case .message(let message)? = fold.outcome { cacheAnswer(message.serialized) }
            finishCommon()
            request.endStream(status: 200)
            return
        }
        switch fold.outcome {
        case .message(let message)?:
            let body = message.serialized
            cacheAnswer(body)
            finishCommon()
            // The upstream's token figures, unless the gateway's own rate limiting gave the client its own.
            let upstreamFigures = worker.controlPlane.rateLimiter == nil
                ? UpstreamHeaderMapping.rateLimitHeaders(from: upstreamHeaders) : []
            request.respond(status: .ok, contentType: "application/json", body: body, extraHeaders: responseHeaders,
                            extraFields: upstreamFigures)
        case .failure(let error)?:
            finishWithError(error)
        case nil:
            finishWithError(GatewayError(.api, "the upstream answer ended without a result"))
        }
    }

    private func finishWithError(_ error: GatewayError) {
        guard !finished else { return }
        finishCommon()
        request.respond(error: error, extraHeaders: responseHeaders)
    }

    private func finishCommon() {
        finished = true
        // The transfer's delegate holds this exchange until curl reports the end of the body, which can come after
        // the answer is complete (`[DONE]` arrives first): the reference must not be kept from this side as well.
        transfer = nil
        retryTimer?.cancel()
        clock?.remove(self)
        clock = nil
        if holdsUpstreamSlot {
            holdsUpstreamSlot = false
            worker.releaseUpstream()
            worker.metrics.upstreamEnded(streaming: isStreaming)
        }
        let usage = stream?.translator.reportedUsage
        if let usage, let model = backendModel {
            let cached = min(usage.cachedTokens, usage.promptTokens)
            worker.metrics.recordTokens(model: model, input: usage.promptTokens - cached, output: usage.completionTokens,
                                        cacheRead: cached)
        }
        correctRateLimit(usage: usage)
    }

    /// Replaces the admission-time estimate with what the request really cost.
    private func correctRateLimit(usage: OpenAI.Usage?) {
        guard let rateLimit, let limiter = worker.controlPlane.rateLimiter else { return }
        let delta: Int
        if let rateLimitCorrection {
            delta = rateLimitCorrection
        } else if let usage {
            delta = usage.promptTokens + usage.completionTokens - rateLimit.reservation
        } else if !contentDelivered {
            // Nothing was generated (refused upstream, failed before content): nothing was spent.
            delta = -rateLimit.reservation
        } else {
            // Cut off mid-answer without a usage report: keep the reservation, the conservative choice.
            delta = 0
        }
        if delta != 0 { limiter.correct(bucket: caller.tenant, limits: rateLimit.limits, deltaTokens: delta) }
    }

    /// A streaming request's time to its first upstream content. A non-streaming client gets nothing before the whole
    /// answer (`request_duration_seconds` has that), and neither does the worker once the upstream answers with one
    /// body: the time to its first token would be the answer's whole time, and would blur the streams' figure.
    private func recordFirstToken() {
        guard isStreaming else { return }
        let seconds = Double((NIODeadline.now() - request.head.receivedAt).nanoseconds) / 1e9
        timeToFirstToken = seconds
        if let model = backendModel { worker.metrics.recordFirstToken(model: model, seconds: seconds) }
    }

    // MARK: - Backpressure, client departure

    func clientWritabilityChanged(_ writable: Bool) {
        flow.clientWritable = writable
        guard writable, flow.paused else { return }
        flow.paused = false
        if let transfer { worker.upstream(for: loop).resume(transfer) }
    }

    /// The client left: stop the upstream at once — every further token costs real money.
    func clientClosed() {
        guard !finished else { return }
        if let transfer { worker.upstream(for: loop).cancel(transfer) }
        transfer = nil
        finishCommon()
    }

    var logMetadata: Logger.Metadata {
        var metadata: Logger.Metadata = [
            "model.requested": .string(requestedModel), "model.upstream": .string(backendModel ?? ""),
            "stream": .string(isStreaming ? "true" : "false"), "upstream.retries": .string(String(retries)),
            "key.digest_prefix": .string(caller.tenantPrefix),
        ]
        if let timeToFirstToken { metadata["ttft_ms"] = .string(String(format3(timeToFirstToken * 1000))) }
        if let usage = stream?.translator.reportedUsage {
            metadata["tokens.input"] = .string(String(usage.promptTokens))
            metadata["tokens.output"] = .string(String(usage.completionTokens))
        }
        if let upstreamStatus { metadata["upstream.status"] = .string(String(upstreamStatus)) }
        return metadata
    }
}

extension MessagesExchange: LoopClockSubscriber {
    /// A tick of the loop's clock: the upstream timeouts of the running attempt, and `event: ping` to a streaming
    /// client that has been sent nothing for `PING_INTERVAL_SECONDS` (clients, and the proxies between them, take
    /// a long-silent stream for a dead one).
    func loopClockTicked(now: NIODeadline) {
        guard !finished else { return }
        checkUpstreamTimeouts(now: now)
        if isStreaming, !finished, now - lastClientWrite >= .fromSeconds(config.pingInterval) {
            emit([.ping])
        }
    }
}
