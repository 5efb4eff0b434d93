import NIOHTTP1

/// What the gateway reads of a client request's head (`RequestParser`): the request line, how the body is framed,
/// whether the connection stays open, and the few fields the gateway acts on. Other fields are checked for syntax and
/// otherwise ignored: the gateway forwards none of its client's fields, so none is made into a `String`.
public struct ClientRequestHead: Equatable, Sendable {
    public var method: HTTPMethod
    /// The request target as sent (origin form: path and any query).
    public var uri: String
    public var version: HTTPVersion
    /// The connection stays open after the response: HTTP/1.1 unless `Connection: close`, HTTP/1.0 only with
    /// `Connection: keep-alive`.
    public var isKeepAlive: Bool
    /// `Content-Length`, when the head has one (never together with chunked framing).
    public var contentLength: Int?
    /// `Transfer-Encoding: chunked`.
    public var isChunked = false
    /// `Expect: 100-continue`.
    public var expectsContinue = false
    /// The first `x-api-key` field's value.
    public var apiKey: String?
    /// The first `Authorization` field's value.
    public var authorization: String?

    public init(method: HTTPMethod, uri: String, version: HTTPVersion, isKeepAlive: Bool) {
        self.method = method
        self.uri = uri
        self.version = version
        self.isKeepAlive = isKeepAlive
    }

    /// The client takes a chunked response (HTTP/1.1); to HTTP/1.0 a stream ends when the connection closes.
    public var takesChunks: Bool { version.minor >= 1 }
}
