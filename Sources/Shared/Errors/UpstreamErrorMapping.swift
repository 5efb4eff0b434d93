/// Maps what the upstream said (an HTTP status with Cerebras's flat error body, or a mid-stream error chunk)
/// to the client-facing error.
public enum UpstreamErrorMapping {
    public static func map(status: Int, body: [UInt8], retryAfter: Double?) -> GatewayError {
        let parsed = (try? JSONParser.parse(body)).map { json -> OpenAI.StreamError in
            // Cerebras's bodies are flat; OpenAI-style servers nest them under "error".
            if let nested = json["error"], !nested.isNull { return OpenAI.StreamError(json: nested, statusCode: status) }
            return OpenAI.StreamError(json: json, statusCode: status)
        }
        return map(OpenAI.StreamError(
            statusCode: status, type: parsed?.type, code: parsed?.code,
            message: parsed?.message ?? "upstream answered HTTP \(status)"), retryAfter: retryAfter)
    }

    public static func map(_ error: OpenAI.StreamError, retryAfter: Double? = nil) -> GatewayError {
        let status = error.statusCode ?? 500
        if let tooLong = contextLengthError(error) { return tooLong }
        let detail = "upstream: \(error.message)"
        switch status {
        case 400, 422:
            return GatewayError(.invalidRequest, detail)
        case 401:
            // The gateway's own upstream key was refused: the client can do nothing about it.
            return GatewayError(.api, "the gateway's upstream credentials were rejected")
        case 403:
            return GatewayError(.permission, detail)
        case 404:
            return GatewayError(.notFound, detail)
        case 408, 504:
            return GatewayError(.timeout, detail)
        case 413:
            return GatewayError(.requestTooLarge, detail)
        case 429:
            // Cerebras also uses 429 for queue overload (`queue_exceeded`): that is capacity, not the client's quota.
            if error.code == "queue_exceeded" { return GatewayError(.overloaded, detail, retryAfter: retryAfter) }
            return GatewayError(.rateLimited, detail, retryAfter: retryAfter)
        case 500:
            return GatewayError(.api, detail)
        default:
            return status >= 500
                ? GatewayError(.overloaded, detail, retryAfter: retryAfter) : GatewayError(.api, detail)
        }
    }

    /// Cerebras's context overflow ("Current length is 140000 while limit is 131072") in Claude Code's words.
    static func contextLengthError(_ error: OpenAI.StreamError) -> GatewayError? {
        let lowered = error.message.lowercased()
        guard error.code == "context_length_exceeded" || lowered.contains("reduce the length")
            || lowered.contains("context length") || lowered.contains("maximum context")
        else { return nil }
        let numbers = error.message.split(whereSeparator: { !$0.isNumber }).compactMap { Int($0) }.filter { $0 > 0 }
        if numbers.count >= 2 {
            return .promptTooLong(tokens: numbers[numbers.count - 2], maximum: numbers[numbers.count - 1])
        }
        return GatewayError(.invalidRequest, "prompt is too long: \(error.message)")
    }

    /// Whether a failed attempt is worth another try (before any byte reached the client).
    public static func isRetryable(status: Int) -> Bool {
        status == 408 || status == 429 || status >= 500
    }
}
