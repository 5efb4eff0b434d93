import Foundation
import NIOConcurrencyHelpers
import TestSupport
import XCTest

@testable import Worker

/// `TLSReadAhead` through a real TLS upstream (`Tests/e2e/tls_upstream.py`, which writes each SSE event as a TLS
/// record of its own): with read-ahead, one `recv` takes many records, and every one of them must still reach the
/// transfer, in order, whatever made curl read the socket — or the transfer stalls with its last records in
/// OpenSSL's buffer and an empty socket.
final class TLSReadAheadTests: XCTestCase {
    /// The Python TLS upstream as a process on a loopback port, answering every request with `tokens` chunks.
    private final class TLSUpstream {
        let process = Process()
        let port: Int

        init(tokens: Int) throws {
            let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
                .appendingPathComponent("../e2e/tls_upstream.py").standardizedFileURL
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = ["python3", script.path, String(tokens)]
            let output = Pipe()
            process.standardOutput = output
            process.standardError = FileHandle.nullDevice
            try process.run()
            port = try FakeUpstream.readPort(output.fileHandleForReading, prefix: "LISTENING ")
        }

        func stop() {
            guard process.isRunning else { return }
            kill(process.processIdentifier, SIGTERM)
            process.waitUntilExit()
        }
    }

    /// Collects a transfer's body; pauses it at its first body bytes when asked to, until the test resumes it.
    private final class Collector: UpstreamTransferDelegate {
        struct State {
            var body: [UInt8] = []
            var pausedOnce = false
            var error: UpstreamTransportError?
        }

        let state = NIOLockedValueBox(State())
        let pauseAtFirstBytes: Bool
        let paused = DispatchSemaphore(value: 0)
        let done = DispatchSemaphore(value: 0)

        init(pauseAtFirstBytes: Bool = false) {
            self.pauseAtFirstBytes = pauseAtFirstBytes
        }

        func upstreamReceivedHead(status: Int, headers: [(name: String, value: String)]) {}

        func upstreamReceived(_ bytes: UnsafeRawBufferPointer) -> Bool {
            let pause = state.withLockedValue { state -> Bool in
                if pauseAtFirstBytes, !state.pausedOnce {
                    state.pausedOnce = true
                    return true
                }
                state.body.append(contentsOf: bytes)
                return false
            }
            if pause { paused.signal() }
            return !pause
        }

        func upstreamCompleted(error: UpstreamTransportError?) {
            state.withLockedValue { $0.error = error }
            done.signal()
        }
    }

    private var upstream: TLSUpstream?

    override func setUpWithError() throws {
        try Libcurl.load()
        XCTAssertTrue(TLSReadAhead.isAvailable, "Debian's libcurl4 is the OpenSSL build")
    }

    override func tearDown() {
        upstream?.stop()
    }

    /// curl's connect timeout still fires during a transfer (a pass of its timer, which reads the socket): long, so
    /// that it cannot rescue a transfer stalled with records in OpenSSL's buffer within the tests' waits.
    private func request(port: Int) -> UpstreamRequest {
        let body = #"{"model":"m","stream":true,"messages":[{"role":"user","content":"hi"}]}"#
        return UpstreamRequest(url: UpstreamURL("https://127.0.0.1:\(port)/v1/chat/completions"), apiKey: "csk-test",
                               body: UpstreamBody(Array(body.utf8)), connectTimeoutMs: 120_000, verifyTLS: false)
    }

    private func expectedBody(tokens: Int) -> String {
        func event(_ json: String) -> String { "data: \(json)\n\n" }
        let base = #""id": "chatcmpl-tls", "object": "chat.completion.chunk", "created": 1, "model": "m""#
        var text = event(#"{\#(base), "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}}]}"#)
        for index in 0..<tokens {
            text += event(#"{\#(base), "choices": [{"index": 0, "delta": {"content": "tok\#(index) "}}]}"#)
        }
        text += event(#"{\#(base), "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}"#)
        let usage = #""usage": {"prompt_tokens": 5, "completion_tokens": \#(tokens), "total_tokens": \#(5 + tokens)}"#
        text += event(#"{\#(base), "choices": [], \#(usage)}"#)
        return text + event("[DONE]")
    }

    /// Runs `count` transfers one after another on one client (so that later ones reuse the kept-alive connection).
    private func run(_ count: Int, tokens: Int, readAhead: Bool) throws -> (bodies: [String], drainingReads: Int) {
        let upstream = try TLSUpstream(tokens: tokens)
        self.upstream = upstream
        var bodies: [String] = []
        var statistics = (enabled: false, drainingReads: 0, drainsCutShort: 0)
        try withUpstreamClient(settings: .init(tlsReadAhead: readAhead)) { client in
            for index in 0..<count {
                let collector = Collector()
                _ = client.start(request(port: upstream.port), delegate: collector)
                XCTAssertEqual(collector.done.wait(timeout: .now() + 20), .success, "transfer \(index) stalled")
                let state = collector.state.withLockedValue { $0 }
                XCTAssertNil(state.error)
                bodies.append(String(decoding: state.body, as: UTF8.self))
            }
            statistics = try client.loop.submit { client.readAheadStatistics }.wait()
        }
        XCTAssertEqual(statistics.enabled, readAhead)
        return (bodies, statistics.drainingReads)
    }

    func testEveryRecordReadAheadReachesTheTransferInOrder() throws {
        let tokens = 2_000
        let withReadAhead = try run(3, tokens: tokens, readAhead: true)
        upstream?.stop()
        let without = try run(1, tokens: tokens, readAhead: false)
        let expected = expectedBody(tokens: tokens)
        XCTAssertEqual(without.bodies, [expected], "the fixture answers as this test expects")
        XCTAssertEqual(withReadAhead.bodies, [expected, expected, expected])
        XCTAssertGreaterThan(withReadAhead.drainingReads, 0, "records read ahead were drained")
        XCTAssertEqual(without.drainingReads, 0)
    }

    /// While a transfer is paused, the rest of the answer arrives and curl reads no more; on `resume`, curl reads
    /// in a pass of its timer, not because the socket is ready: what it reads ahead then must be drained as well.
    /// The answer, 85 records of about 180 bytes, fits in what one read ahead takes (about 16 KB), so once curl has
    /// read it the socket is empty and more records wait in OpenSSL's buffer than one pass drains (64): the passes
    /// that follow must drain the rest.
    func testRecordsReadAheadBeforeAndAfterAPauseReachTheResumedTransfer() throws {
        let tokens = 80
        let upstream = try TLSUpstream(tokens: tokens)
        self.upstream = upstream
        try withUpstreamClient(settings: .init(tlsReadAhead: true)) { client in
            for round in 0..<3 {
                let collector = Collector(pauseAtFirstBytes: true)
                let transfer = client.start(request(port: upstream.port), delegate: collector)
                XCTAssertEqual(collector.paused.wait(timeout: .now() + 30), .success, "round \(round): never paused")
                Thread.sleep(forTimeInterval: 0.3)  // the rest of the answer arrives meanwhile
                client.resume(transfer)
                XCTAssertEqual(collector.done.wait(timeout: .now() + 20), .success, "round \(round): stalled")
                let state = collector.state.withLockedValue { $0 }
                XCTAssertNil(state.error)
                XCTAssertEqual(String(decoding: state.body, as: UTF8.self), expectedBody(tokens: tokens))
            }
            let statistics = try client.loop.submit { client.readAheadStatistics }.wait()
            XCTAssertGreaterThan(statistics.drainingReads, 0)
            XCTAssertGreaterThan(statistics.drainsCutShort, 0, "a drain stopped at its bound and a later pass went on: \(statistics)")
        }
    }
}
