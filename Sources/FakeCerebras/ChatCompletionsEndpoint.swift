import NIOCore
import NIOHTTP1

/// `POST /v1/chat/completions`: record, authenticate, parse, pick a scenario, play it.
enum ChatCompletionsEndpoint {
    static func respond(head: HTTPRequestHead, body: ByteBuffer, services: FakeServices) -> ResponseScript {
        let request = try? ChatRequest(body: body)
        // Recorded before any check so tests can inspect what the gateway sent even when it is rejected.
        services.stats.requestStarted(body: body, isJSON: request != nil, headers: head.headers)

        guard hasBearerToken(head.headers) else {
            return CannedResponse.error(.wrongAPIKey)
        }
        guard let request else {
            return CannedResponse.error(.invalidRequest("Request body is not a valid JSON object"))
        }
        let selection = ScenarioSelector.select(
            header: head.headers.first(name: "x-fake-scenario"),
            lastMessageText: request.lastMessageText,
            fallback: services.defaultScenario
        )
        let spec: ScenarioSpec
        switch selection {
        case .known(let selected):
            spec = selected
        case .unknown(let name):
            return CannedResponse.error(.invalidRequest("Unknown fake scenario '\(name)'", param: "scenario"))
        }
        if spec.scenario == .flaky {
            let key = head.headers.first(name: "x-fake-key") ?? ""
            if services.flaky.nextAttempt(key: key) <= spec.int("fail") ?? 1 {
                // `cut=N`: a failing attempt is a 200 answer whose connection is lost after N bytes of its body.
                if let cut = spec.int("cut") {
                    return ScenarioPlayer(spec: spec, request: request, rawBody: body).script(cutAfter: cut)
                }
                let status = spec.int("status").map { HTTPResponseStatus(statusCode: $0) }
                return CannedResponse.error(.overloaded(), status: status)
            }
        }
        return ScenarioPlayer(spec: spec, request: request, rawBody: body).script()
    }

    /// Cerebras only checks the key's validity; the fake accepts any non-empty bearer token.
    private static func hasBearerToken(_ headers: HTTPHeaders) -> Bool {
        guard let value = headers.first(name: "authorization") else { return false }
        let parts = value.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: true)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else { return false }
        return !parts[1].allSatisfy { $0 == " " }
    }
}
