import NIOCore
import NIOHTTP1

/// Heads and whole responses that need no scenario: JSON bodies, Cerebras errors, the shared headers.
enum CannedResponse {

    /// Rate-limit headers Cerebras sends on every successful response.
    static let rateLimitHeaders: [(String, String)] = [
        ("x-ratelimit-limit-requests-day", "1000000"),
        ("x-ratelimit-limit-tokens-minute", "10000000"),
        ("x-ratelimit-remaining-requests-day", "999999"),
        ("x-ratelimit-remaining-tokens-minute", "9999000"),
        ("x-ratelimit-reset-requests-day", "33011.382867"),
        ("x-ratelimit-reset-tokens-minute", "11.382867"),
    ]

    static let streamHeaders = HTTPHeaders(
        [("content-type", "text/event-stream; charset=utf-8"), ("cache-control", "no-cache")] + rateLimitHeaders
    )

    static func jsonHeaders(length: Int, extra: [(String, String)] = rateLimitHeaders) -> HTTPHeaders {
        HTTPHeaders([("content-type", "application/json"), ("content-length", String(length))] + extra)
    }

    static func head(_ status: HTTPResponseStatus, headers: HTTPHeaders) -> HTTPResponseHead {
        HTTPResponseHead(version: .http1_1, status: status, headers: headers)
    }

    /// Head, one body event, end: every non-streamed answer.
    static func json(
        _ status: HTTPResponseStatus,
        body: ByteBuffer,
        extraHeaders: [(String, String)] = rateLimitHeaders,
        contentType: String = "application/json",
        delay: TimeAmount = .zero
    ) -> ResponseScript {
        var headers = jsonHeaders(length: body.readableBytes, extra: extraHeaders)
        headers.replaceOrAdd(name: "content-type", value: contentType)
        var builder = ScriptBuilder()
        builder.head(head(status, headers: headers))
        builder.event(body)
        builder.end()
        return ResponseScript(segments: builder.segments, delay: delay, flushEachEvent: false)
    }

    static func error(
        _ error: CerebrasError,
        status: HTTPResponseStatus? = nil,
        delay: TimeAmount = .zero
    ) -> ResponseScript {
        json(status ?? error.status, body: ByteBuffer(string: error.body), extraHeaders: error.headers, delay: delay)
    }
}
