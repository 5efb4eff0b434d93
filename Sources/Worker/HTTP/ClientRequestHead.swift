import NIOHTTP1

/// What the gateway reads of a client request's head (`RequestParser`): the request line, how the body is framed,
/// whether the connection stays open, and the few fields the gateway acts on. Other fields are checked for syntax and
/// otherwise ignored: the gateway forwards none of its client's fields, so none is made into a `String`.
struct ClientRequestHead {
    var method: HTTPMethod
    /// The request target as sent (origin form: path and any query).
    var uri: String
    var version: HTTPVersion
    /// The connection stays open after the response: HTTP/1.1 unless `Connection: close`, HTTP/1.0 only with
    /// `Connection: keep-alive`.
    var isKeepAlive: Bool
    /// `Content-Length`, when the head has one (never together with chunked framing).
    var contentLength: Int?
    /// `Transfer-Encoding: chunked`.
    var isChunked = false
    /// `Expect: 100-continue`.
    var expectsContinue = false
    /// The first `x-api-key` field's value.
    var apiKey: String?
    /// The first `Authorization` field's value.
    var authorization: String?

    /// The client takes a chunked response (HTTP/1.1); to HTTP/1.0 a stream ends when the connection closes.
    var takesChunks: Bool { version.minor >= 1 }
}
