import Foundation
import TestSupport
import Logging
import Shared
import Worker

/// A worker serving in-process on a loopback port, configured like the real thing.
final class GatewayUnderTest {
    let runtime: WorkerRuntime
    let port: Int

    init(upstream: FakeUpstream?, settings: [String: String] = [:], keysFile: String? = nil) throws {
        var values: [String: String] = [
            "HOST": "127.0.0.1", "PORT": "0", "CEREBRAS_API_KEY": "csk-test-upstream",
            "CEREBRAS_BASE_URL": upstream?.baseURL ?? "http://127.0.0.1:9/v1",
            "GATEWAY_API_KEYS": "test-key", "PROMPT_TUNING": "false", "UPSTREAM_RETRY_BASE_MS": "10",
        ]
        values.merge(settings, uniquingKeysWith: { _, new in new })
        let config = try GatewayConfig(source: ConfigSource(values: values), keysFileContents: keysFile, cpuCount: 1)
        let logger = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })
        runtime = try WorkerRuntime(config: config, logger: logger)
        port = try runtime.start()
    }

    func stop() {
        _ = try? runtime.drain().wait()
        runtime.shutdown()
    }

    /// A `POST /v1/messages` with the test key.
    func messages(_ body: [String: Any], headers: [String: String] = [:]) throws -> TestResponse {
        var headers = headers
        if headers["x-api-key"] == nil, headers["authorization"] == nil { headers["x-api-key"] = "test-key" }
        return try httpRequest(port: port, path: "/v1/messages", headers: headers, json: body)
    }
}

func messagesBody(_ text: String = "Hello", stream: Bool = false, scenario: String? = nil,
                  extra: [String: Any] = [:]) -> [String: Any] {
    let content = scenario.map { "\(text) [[scenario:\($0)]]" } ?? text
    var body: [String: Any] = [
        "model": "claude-sonnet-4-5", "max_tokens": 256, "stream": stream,
        "messages": [["role": "user", "content": content]],
    ]
    body.merge(extra, uniquingKeysWith: { _, new in new })
    return body
}
