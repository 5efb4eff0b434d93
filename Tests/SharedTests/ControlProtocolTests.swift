import Foundation
import Shared
import Testing

@Suite("Master ⇄ worker control protocol")
struct ControlProtocolTests {
    @Test("every message survives encoding, split at any byte")
    func roundTrip() {
        var metrics = MetricsSnapshot()
        metrics.counters[.init("cerebras_gateway_requests_total", [("route", "messages")])] = 3
        metrics.gauges[.init("cerebras_gateway_active_streams")] = 1
        var histogram = MetricsSnapshot.Histogram(bounds: [0.1, 1])
        histogram.observe(0.5)
        metrics.histograms[.init("cerebras_gateway_request_duration_seconds")] = histogram
        let decision = RateLimitDecision(allowed: false, requestsLimit: 5, requestsRemaining: 0, requestsResetSeconds: 12,
                                         tokensLimit: 0, tokensRemaining: 0, tokensResetSeconds: 0, retryAfterSeconds: 12)
        let messages: [ControlMessage] = [
            .ready(pid: 42), .heartbeat(activeRequests: 2, metrics: metrics),
            .rateLimitAcquire(id: 1, bucket: "ab", requestsPerMinute: 5, tokensPerMinute: 0, tokens: 9),
            .rateLimitCorrect(bucket: "ab", requestsPerMinute: 5, tokensPerMinute: 0, deltaTokens: -3),
            .rateLimitDecision(id: 1, decision: decision), .drain, .adminQuery(id: 7, path: "/metrics"),
            .rateLimitAcquire(id: 2, bucket: "ab", requestsPerMinute: 5, tokensPerMinute: 60, tokens: 9,
                              lease: .init(wantRequests: 4, wantTokens: 40, returnedRequests: 2, tokenDelta: -17)),
            .rateLimitCorrect(bucket: "ab", requestsPerMinute: 5, tokensPerMinute: 60, deltaTokens: 8,
                              returnedRequests: 3),
            .rateLimitDecision(id: 2, decision: decision,
                               grant: .init(requests: 4, tokens: 40, requestTAT: 48_000_000, tokenTAT: 40_000_000)),
            .adminResponse(id: 7, status: 200, contentType: "text/plain", body: "a\nb \"quoted\""),
        ]
        let bytes = messages.flatMap { $0.encoded() }
        var buffer = ControlLineBuffer()
        var received: [ControlMessage] = []
        for byte in bytes { received += buffer.append(CollectionOfOne(byte)) }
        #expect(received == messages)
    }

    @Test("garbage and fuzz regressions are skipped or saturate, never crash")
    func hostileLines() throws {
        var lines = [Array("not json\n{\"t\":\"unknown\"}\n{\"t\":\"hb\",\"m\":7}\n".utf8)]
        let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures")
        for name in try FileManager.default.contentsOfDirectory(atPath: fixtures.path) where name.hasPrefix("fuzz-") {
            if let data = FileManager.default.contents(atPath: fixtures.appendingPathComponent(name + "/control.lines").path) {
                lines.append([UInt8](data))
            }
        }
        var total = MetricsSnapshot()
        for line in lines {
            var buffer = ControlLineBuffer()
            for case .heartbeat(_, let metrics) in buffer.append(line) {
                total.add(metrics)
                total.add(metrics)
                _ = PrometheusText.render(total)
            }
        }
    }
}
