/// The one client-facing error type: every failure becomes one of these at the edge and is rendered
/// in the Anthropic shape `{"type":"error","error":{"type":…,"message":…},"request_id":…}` in one place.
public struct GatewayError: Error, Equatable, Sendable, CustomStringConvertible {
    public enum Kind: String, Sendable {
        case invalidRequest = "invalid_request_error"
        case authentication = "authentication_error"
        case permission = "permission_error"
        case notFound = "not_found_error"
        case methodNotAllowed = "method_not_allowed"
        case requestTooLarge = "request_too_large"
        case rateLimited = "rate_limit_error"
        case api = "api_error"
        case timeout = "timeout_error"
        case overloaded = "overloaded_error"
    }

    public var kind: Kind
    public var message: String
    /// Seconds the client should wait before retrying (429, 529).
    public var retryAfter: Double?

    public init(_ kind: Kind, _ message: String, retryAfter: Double? = nil) {
        self.kind = kind
        self.message = message
        self.retryAfter = retryAfter
    }

    public var status: Int {
        switch kind {
        case .invalidRequest: return 400
        case .authentication: return 401
        case .permission: return 403
        case .notFound: return 404
        case .methodNotAllowed: return 405
        case .requestTooLarge: return 413
        case .rateLimited: return 429
        case .api: return 500
        case .timeout: return 504
        case .overloaded: return 529
        }
    }

    /// The Anthropic `error.type`. A wrong method is reported as Anthropic does, as an invalid request.
    public var type: String { kind == .methodNotAllowed ? Kind.invalidRequest.rawValue : kind.rawValue }

    public var description: String { "\(type): \(message)" }

    /// The response body.
    public func body(requestID: String?) -> [UInt8] {
        var writer = JSONWriter(capacity: 128 + message.utf8.count)
        writer.raw("{\"type\":\"error\",\"error\":")
        writeErrorObject(to: &writer)
        if let requestID {
            writer.raw(",\"request_id\":")
            writer.string(requestID)
        }
        writer.raw("}")
        return writer.takeBytes()
    }

    /// `{"type":…,"message":…}`, shared by the body and the SSE `error` event.
    public func writeErrorObject(to writer: inout JSONWriter) {
        writer.raw("{\"type\":")
        writer.string(type)
        writer.raw(",\"message\":")
        writer.string(message)
        writer.raw("}")
    }
}

extension GatewayError {
    public static func invalidRequest(_ error: RequestValidationError) -> GatewayError {
        GatewayError(.invalidRequest, error.description)
    }

    public static func promptTooLong(tokens: Int, maximum: Int) -> GatewayError {
        // Claude Code compacts the conversation on exactly this text.
        GatewayError(.invalidRequest, "prompt is too long: \(tokens) tokens > \(maximum) maximum")
    }
}
