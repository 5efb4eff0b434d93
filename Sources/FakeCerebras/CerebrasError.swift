import NIOHTTP1

/// Cerebras's flat error bodies (`{"message","type","param","code"}`, no `error` wrapper) and their statuses.
struct CerebrasError {
    var status: HTTPResponseStatus
    var message: String
    var type: String
    var param: String?
    var code: String?
    /// Extra response headers (`retry-after`, rate-limit resets).
    var headers: [(String, String)] = []

    var body: String {
        """
        {"message":\(JSONText.quoted(message)),"type":\(JSONText.quoted(type)),\
        "param":\(JSONText.quotedOrNull(param)),"code":\(JSONText.quotedOrNull(code))}
        """
    }

    static let wrongAPIKey = CerebrasError(
        status: .unauthorized,
        message: "Wrong API Key",
        type: "invalid_request_error",
        param: nil,
        code: "wrong_api_key"
    )

    /// `retryAfter` "none" sends a 429 that says nothing about when to retry (no `retry-after`, no exhausted
    /// `x-ratelimit-*` dimension), as some proxies in front of Cerebras do.
    static func rateLimited(retryAfter: String) -> CerebrasError {
        let headers: [(String, String)]
        if retryAfter == "none" {
            headers = [("x-ratelimit-limit-requests-day", "14400"), ("x-ratelimit-remaining-requests-day", "100")]
        } else {
            headers = [
                ("retry-after", retryAfter),
                ("x-ratelimit-limit-requests-day", "14400"),
                ("x-ratelimit-remaining-requests-day", "0"),
                ("x-ratelimit-reset-requests-day", "33011.382867"),
                ("x-ratelimit-limit-tokens-minute", "60000"),
                ("x-ratelimit-remaining-tokens-minute", "0"),
                ("x-ratelimit-reset-tokens-minute", retryAfter),
            ]
        }
        return CerebrasError(
            status: .tooManyRequests,
            message: "Requests per minute limit exceeded - too many requests sent.",
            type: "too_many_requests_error",
            param: "quota",
            code: "request_quota_exceeded",
            headers: headers
        )
    }

    static func serverError(status: HTTPResponseStatus) -> CerebrasError {
        CerebrasError(status: status, message: "Internal server error", type: "server_error", param: nil, code: nil)
    }

    static func overloaded(status: HTTPResponseStatus = .serviceUnavailable) -> CerebrasError {
        CerebrasError(
            status: status,
            message: "We're experiencing high traffic right now! Please try again soon.",
            type: "too_many_requests_error",
            param: "queue",
            code: "queue_exceeded"
        )
    }

    static func contextLength(status: HTTPResponseStatus) -> CerebrasError {
        CerebrasError(
            status: status,
            message: """
                Please reduce the length of the messages or completion. \
                Current length is 140000 while limit is 131072
                """,
            type: "invalid_request_error",
            param: "messages",
            code: "context_length_exceeded"
        )
    }

    /// Same message as mid-stream, for the non-stream variant of `midstream_error`.
    static let generationFailed = CerebrasError(
        status: .internalServerError,
        message: "Internal error during generation",
        type: "server_error",
        param: nil,
        code: "internal_error"
    )

    static func invalidRequest(_ message: String, param: String? = nil) -> CerebrasError {
        CerebrasError(status: .badRequest, message: message, type: "invalid_request_error", param: param, code: nil)
    }

    static func notFound(_ path: String) -> CerebrasError {
        CerebrasError(
            status: .notFound,
            message: "No route for \(path)",
            type: "not_found_error",
            param: nil,
            code: nil
        )
    }
}
