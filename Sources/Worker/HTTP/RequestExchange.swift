import Logging
import NIOCore
import NIOHTTP1
import Shared

/// One request from routing to the last byte of its response. Event-loop confined.
// @unchecked: confined to the connection's event loop.
final class RequestExchange: @unchecked Sendable {
    let worker: WorkerContext
    let head: RequestHead
    let route: Route
    /// The connection's handler, until it lets go of this exchange (`detachSink`): the response is written or the
    /// client left. Held strongly and let go of explicitly rather than held weakly: a weak reference gives the
    /// handler a side table, which sends every retain and release of it (several per relayed chunk) down the
    /// runtime's slow path.
    private var sink: (any ResponseSink)?
    /// The connection's memo of its last authentication.
    private let authentication: AuthenticationMemo
    let eventLoop: EventLoop
    private var messages: MessagesExchange?
    private var finished = false

    init(worker: WorkerContext, head: RequestHead, route: Route, sink: any ResponseSink,
         authentication: AuthenticationMemo, eventLoop: EventLoop) {
        self.worker = worker
        self.head = head
        self.route = route
        self.sink = sink
        self.authentication = authentication
        self.eventLoop = eventLoop
    }

    func run(body: ByteBuffer) {
        if route.requiresAuth {
            guard let caller = worker.authenticator.authenticate(apiKey: head.head.apiKey,
                                                                authorization: head.head.authorization,
                                                                memo: authentication) else {
                respond(error: GatewayError(.authentication, "invalid x-api-key"))
                return
            }
            runAuthenticated(caller: caller, body: body)
            return
        }
        switch route {
        case .root:
            respond(status: .ok, contentType: "application/json", body: Array(#"{"status":"ok"}"#.utf8))
        case .eventLogging:
            // Claude Code posts telemetry here; accepted and dropped.
            respond(status: .ok, contentType: "application/json", body: Array("{}".utf8))
        case .health, .metrics:
            answerAdmin(path: route == .health ? "/health" : "/metrics")
        case .notFound:
            respond(error: GatewayError(.notFound, "no route for \(head.head.method.rawValue) \(pathOnly)"))
        case .methodNotAllowed(let allowed):
            respond(error: GatewayError(.methodNotAllowed,
                                        "method \(head.head.method.rawValue) is not allowed on \(pathOnly); use \(allowed)"),
                    extraHeaders: HTTPHeaders([("allow", allowed)]))
        case .messages, .countTokens, .listModels, .getModel:
            preconditionFailure("route \(route) requires authentication")
        }
    }

    private var pathOnly: String {
        String(head.head.uri.split(separator: "?", maxSplits: 1).first ?? "")
    }

    private func runAuthenticated(caller: Caller, body: ByteBuffer) {
        switch route {
        case .messages:
            let exchange = MessagesExchange(request: self, caller: caller)
            messages = exchange
            exchange.start(body: body)
        case .countTokens:
            countTokens(body: body, caller: caller)
        case .listModels:
            respond(status: .ok, contentType: "application/json", body: ModelsResponse.list(worker.config.catalog))
        case .getModel(let id):
            if let model = ModelsResponse.model(id, catalog: worker.config.catalog) {
                respond(status: .ok, contentType: "application/json", body: model)
            } else {
                respond(error: GatewayError(.notFound, "model: \(id) is not served by this gateway"))
            }
        default:
            preconditionFailure("route \(route) does not require authentication")
        }
    }

    /// Answered locally: no upstream call, no rate-limit charge.
    private func countTokens(body: ByteBuffer, caller: Caller) {
        do {
            // count_tokens takes no max_tokens; the request decoder requires one.
            let translated = try body.withUnsafeReadableBytes { raw in
                let body = raw.assumingMemoryBound(to: UInt8.self)
                let decoded = try worker.memos.decode(body, tenant: caller.tenant, defaultMaxTokens: 1)
                return try worker.memos.translate(decoded, body: body, catalog: worker.config.catalog,
                                                  options: worker.config.translation, enforceContextWindow: false)
            }
            respond(status: .ok, contentType: "application/json",
                    body: Array("{\"input_tokens\":\(translated.estimatedInputTokens)}".utf8))
        } catch {
            respond(error: Self.gatewayError(error))
        }
    }

    /// How long the master may take to answer for the node before the worker answers for itself.
    static let adminQueryTimeout = TimeAmount.seconds(2)

    private func answerAdmin(path: String) {
        guard let control = worker.control else {
            respondLocally(path: path)
            return
        }
        // Whichever comes first answers; `finished` (set by responding) keeps the other from answering twice.
        let fallback = eventLoop.scheduleTask(in: Self.adminQueryTimeout) { [self] in
            guard !finished else { return }
            respondLocally(path: path)
        }
        // The promise lives on this request's event loop, so the callback runs there too.
        control.query(path: path, on: eventLoop).whenComplete { [self] result in
            guard !finished else { return }
            fallback.cancel()
            guard case .success(.adminResponse(_, let status, let contentType, let body)) = result else {
                respondLocally(path: path)
                return
            }
            respond(status: HTTPResponseStatus(statusCode: status), contentType: contentType, body: Array(body.utf8))
        }
    }

    /// Without a master (single-process use), the worker answers for itself.
    private func respondLocally(path: String) {
        if path == "/metrics" {
            respond(status: .ok, contentType: "text/plain; version=0.0.4",
                    body: Array(PrometheusText.render(worker.metricsSnapshot()).utf8))
        } else {
            let status = worker.isDraining ? "draining" : "ok"
            respond(status: worker.isDraining ? .serviceUnavailable : .ok, contentType: "application/json",
                    body: Array("{\"status\":\"\(status)\",\"mode\":\"worker\"}".utf8))
        }
    }

    // MARK: - Responding

    /// The connection is done with this exchange: whatever it still sends goes nowhere.
    func detachSink() {
        sink = nil
    }

    var isClientWritable: Bool { sink?.isClientWritable ?? false }

    /// Answers with `body`: the fields every answer carries, then `extraFields`, then `extraHeaders`.
    func respond(status: HTTPResponseStatus, contentType: String, body: [UInt8], extraHeaders: HTTPHeaders = [:],
                 extraFields: [(String, String)] = []) {
        let headers = baseHeaders(contentType: contentType, extra: extraFields, more: extraHeaders)
        finish(status: Int(status.code))
        sink?.sendResponse(status: status, headers: headers, body: body)
    }

    func respond(error: GatewayError, extraHeaders: HTTPHeaders = [:]) {
        var headers = extraHeaders
        if let retryAfter = error.retryAfter {
            headers.replaceOrAdd(name: "retry-after", value: String(max(1, Int(retryAfter.rounded(.up)))))
        }
        respond(status: HTTPResponseStatus(statusCode: error.status), contentType: "application/json",
                body: error.body(requestID: head.requestID), extraHeaders: headers)
    }

    /// The fields every answer carries, then `extra`, then `more`. Built as one array of the size it ends at:
    /// `HTTPHeaders.add` checks each name for non-ASCII bytes one by one (about 1,500 instructions a field), and
    /// these names are ASCII literals; the response encoder drops any field with CR, LF or NUL in it.
    func baseHeaders(contentType: String, extra: [(String, String)] = [], more: HTTPHeaders = [:]) -> HTTPHeaders {
        var fields: [(String, String)] = []
        fields.reserveCapacity(2 + extra.count + more.count)
        fields.append(("content-type", contentType))
        fields.append(("request-id", head.requestID))
        fields.append(contentsOf: extra)
        for field in more { fields.append((field.name, field.value)) }
        return HTTPHeaders(fields)
    }

    /// Starts a streamed response.
    func beginStream(headers: HTTPHeaders) {
        sink?.sendHead(status: .ok, headers: headers)
    }

    func streamBody(_ bytes: UnsafeRawBufferPointer) {
        sink?.sendBody(bytes)
    }

    func endStream(status: Int) {
        finish(status: status)
        sink?.sendEnd()
    }

    /// Counts the request once, whichever way it ends.
    private func finish(status: Int) {
        guard !finished else { return }
        finished = true
        let elapsed = Double((NIODeadline.now() - head.receivedAt).nanoseconds) / 1e9
        worker.metrics.recordRequest(route: route.metricLabel, status: status, model: messages?.backendModel ?? "",
                                     streaming: messages?.isStreaming == true, seconds: elapsed)
        let level: Logger.Level = switch route {
        case .messages, .countTokens, .listModels, .getModel: .info
        default: .debug
        }
        // The access line's metadata is built only when the line is written (at the default level it is not
        // for health checks, and benchmarks run at warning).
        if worker.logger.logLevel <= level {
            var metadata: Logger.Metadata = [
                "request.id": .string(head.requestID), "http.route": .string(route.metricLabel),
                "http.status": .string(String(status)), "latency_ms": .string(String(format3(elapsed * 1000))),
            ]
            if let messages { metadata.merge(messages.logMetadata, uniquingKeysWith: { _, new in new }) }
            worker.logger.log(level: level, "request", metadata: metadata)
        }
        // The messages exchange holds this one (to respond through it); letting go of it here breaks the cycle
        // once the response is complete. It may still run briefly (a late curl callback) and then goes too.
        messages = nil
    }

    func clientWritabilityChanged(_ writable: Bool) {
        messages?.clientWritabilityChanged(writable)
    }

    func clientClosed() {
        messages?.clientClosed()
        if !finished { finish(status: 499) }
    }

    static func gatewayError(_ error: Error) -> GatewayError {
        switch error {
        case let error as GatewayError: return error
        case let error as RequestValidationError: return .invalidRequest(error)
        case let error as JSONParseError: return GatewayError(.invalidRequest, "malformed JSON body: \(error)")
        default: return GatewayError(.api, "internal error")
        }
    }
}

func format3(_ value: Double) -> Double { (value * 1000).rounded() / 1000 }
