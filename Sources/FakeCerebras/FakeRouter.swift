import NIOCore
import NIOHTTP1

/// State shared by every connection of one fake server.
struct FakeServices: Sendable {
    let stats: FakeStats
    let flaky: FlakyCounter
    let defaultScenario: ScenarioSpec
}

/// A response to play, and whether it counts in the chat-completions stats.
struct RoutedResponse {
    var script: ResponseScript
    /// Counted in `/fake/stats` (`active` now; `completed` or `cancelled` when it ends).
    var tracked: Bool
}

/// Maps a complete request to its response.
enum FakeRouter {
    /// The path and query of a request target. A client that takes the fake for its outbound HTTP proxy sends the
    /// absolute form (`POST http://host/v1/chat/completions`); the fake then answers as that proxy would after
    /// forwarding to Cerebras, which lets tests check that the gateway honours `http_proxy`.
    static func originForm(_ uri: String) -> Substring {
        guard uri.hasPrefix("http://") || uri.hasPrefix("https://"),
              let authority = uri.range(of: "://")
        else { return Substring(uri) }
        let rest = uri[authority.upperBound...]
        return rest.firstIndex(of: "/").map { rest[$0...] } ?? "/"
    }

    static func route(head: HTTPRequestHead, body: ByteBuffer, services: FakeServices) -> RoutedResponse {
        let target = originForm(head.uri)
        let path = target.split(separator: "?", maxSplits: 1).first.map(String.init) ?? String(target)
        switch (head.method, path) {
        case (.POST, "/v1/chat/completions"):
            let script = ChatCompletionsEndpoint.respond(head: head, body: body, services: services)
            return RoutedResponse(script: script, tracked: true)
        case (.GET, "/health"):
            return plain(
                CannedResponse.json(.ok, body: ByteBuffer(string: "ok"), extraHeaders: [], contentType: "text/plain")
            )
        case (.GET, "/fake/stats"):
            return plain(CannedResponse.json(.ok, body: ByteBuffer(string: services.stats.json()), extraHeaders: []))
        case (.POST, "/fake/reset"):
            services.stats.reset()
            services.flaky.reset()
            return plain(CannedResponse.json(.ok, body: ByteBuffer(string: #"{"ok":true}"#), extraHeaders: []))
        case (.GET, "/v1/models"):
            let models = """
                {"object":"list","data":[{"id":"zai-glm-4.7","object":"model","created":0,"owned_by":"Cerebras"},\
                {"id":"gpt-oss-120b","object":"model","created":0,"owned_by":"Cerebras"}]}
                """
            return plain(CannedResponse.json(.ok, body: ByteBuffer(string: models), extraHeaders: []))
        default:
            return plain(CannedResponse.error(.notFound(path)))
        }
    }

    private static func plain(_ script: ResponseScript) -> RoutedResponse {
        RoutedResponse(script: script, tracked: false)
    }
}
