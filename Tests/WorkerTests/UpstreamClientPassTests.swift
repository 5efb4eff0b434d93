import Foundation
import NIOConcurrencyHelpers
import TestSupport
import XCTest

@testable import Worker

/// `UpstreamClient.notifyAtPassEnd`: a delegate that asks is told once per asking, after every callback of the
/// curl pass it asked in — which is what lets the worker hand a response's head, body and end to the event loop
/// in one hop.
final class UpstreamClientPassTests: XCTestCase {
    /// Records callbacks and pass ends in order; asks for the pass end at most once per pass.
    private final class Recorder: UpstreamTransferDelegate, UpstreamPassObserver {
        struct Log {
            var events: [String] = []
            var askedThisPass = false
            var askings = 0
        }

        let log = NIOLockedValueBox(Log())
        let done = DispatchSemaphore(value: 0)
        let client: UpstreamClient

        init(client: UpstreamClient) {
            self.client = client
        }

        private func record(_ event: String) {
            let ask = log.withLockedValue { log -> Bool in
                log.events.append(event)
                defer { log.askedThisPass = true }
                return !log.askedThisPass
            }
            if ask {
                log.withLockedValue { $0.askings += 1 }
                client.notifyAtPassEnd(self)
            }
        }

        func upstreamReceivedHead(status: Int, headers: [(name: String, value: String)]) { record("head") }

        func upstreamReceived(_ bytes: UnsafeRawBufferPointer) -> Bool {
            record("body")
            return true
        }

        func upstreamCompleted(error: UpstreamTransportError?) {
            record(error == nil ? "end" : "failed")
        }

        func upstreamPassEnded() {
            let finished = log.withLockedValue { log -> Bool in
                log.events.append("pass-end")
                log.askedThisPass = false
                return log.events.contains("end") || log.events.contains("failed")
            }
            if finished { done.signal() }
        }
    }

    /// Pauses its transfer at the first body bytes; records, for every pass end it hears, whether the test was
    /// inside its `resume` call then.
    private final class PausingRecorder: UpstreamTransferDelegate, UpstreamPassObserver {
        struct Log {
            var paused = false
            var bodies = 0
            var askedThisPass = false
            var passEndsInsideResume = 0
            var passEndsOutside = 0
            var completed = false
        }

        let log = NIOLockedValueBox(Log())
        let insideResume = NIOLockedValueBox(false)
        let pausedSignal = DispatchSemaphore(value: 0)
        let done = DispatchSemaphore(value: 0)
        let client: UpstreamClient

        init(client: UpstreamClient) {
            self.client = client
        }

        private func askForPassEnd() {
            let ask = log.withLockedValue { log -> Bool in
                defer { log.askedThisPass = true }
                return !log.askedThisPass
            }
            if ask { client.notifyAtPassEnd(self) }
        }

        func upstreamReceivedHead(status: Int, headers: [(name: String, value: String)]) {}

        func upstreamReceived(_ bytes: UnsafeRawBufferPointer) -> Bool {
            let firstBytes = log.withLockedValue { log -> Bool in
                if log.paused {
                    log.bodies += 1
                    return false
                }
                log.paused = true
                return true
            }
            if firstBytes {
                pausedSignal.signal()
                return false  // pause: curl holds these bytes back until `resume`
            }
            askForPassEnd()
            return true
        }

        func upstreamCompleted(error: UpstreamTransportError?) {
            log.withLockedValue { $0.completed = true }
            askForPassEnd()
        }

        func upstreamPassEnded() {
            let inside = insideResume.withLockedValue { $0 }
            let finished = log.withLockedValue { log -> Bool in
                log.askedThisPass = false
                if inside { log.passEndsInsideResume += 1 } else { log.passEndsOutside += 1 }
                return log.completed
            }
            if finished { done.signal() }
        }
    }

    /// curl hands a paused transfer's held-back bytes to the write callback inside `resume`: the pass end is still
    /// reported only after `resume` has returned (its caller, an exchange, would otherwise be re-entered mid-call).
    func testAPassMadeInsideACallIsReportedAfterTheCallReturns() throws {
        let upstream = try FakeUpstream()
        defer { upstream.stop() }
        try withUpstreamClient { client in
            let recorder = PausingRecorder(client: client)
            let body = #"{"model":"m","stream":true,"messages":[{"role":"user","content":"pause me"}]}"#
            let transfer = client.start(
                UpstreamRequest(url: UpstreamURL(upstream.baseURL + "/chat/completions"), apiKey: "csk-test",
                                body: UpstreamBody(Array(body.utf8)), connectTimeoutMs: 2_000, verifyTLS: true),
                delegate: recorder)
            XCTAssertEqual(recorder.pausedSignal.wait(timeout: .now() + 10), .success, "the transfer never paused")
            try client.loop.submit {
                recorder.insideResume.withLockedValue { $0 = true }
                client.resume(transfer)
                recorder.insideResume.withLockedValue { $0 = false }
            }.wait()
            XCTAssertEqual(recorder.done.wait(timeout: .now() + 10), .success, "the transfer did not finish")
            let log = recorder.log.withLockedValue { $0 }
            XCTAssertGreaterThan(log.bodies, 0, "the held-back bytes were delivered")
            XCTAssertEqual(log.passEndsInsideResume, 0, "a pass end was reported inside resume: \(log)")
            XCTAssertGreaterThan(log.passEndsOutside, 0)
        }
    }

    func testEveryAskingIsAnsweredOnceAfterTheCallbacksOfItsPass() throws {
        let upstream = try FakeUpstream()
        defer { upstream.stop() }
        try withUpstreamClient { client in
            var callbacks = 0
            var passEnds = 0
            for index in 0..<20 {
                let recorder = Recorder(client: client)
                let body = #"{"model":"m","stream":true,"messages":[{"role":"user","content":"hi \#(index)"}]}"#
                _ = client.start(
                    UpstreamRequest(url: UpstreamURL(upstream.baseURL + "/chat/completions"), apiKey: "csk-test",
                                    body: UpstreamBody(Array(body.utf8)), connectTimeoutMs: 2_000, verifyTLS: true),
                    delegate: recorder)
                XCTAssertEqual(recorder.done.wait(timeout: .now() + 10), .success, "request \(index) did not finish")
                let log = recorder.log.withLockedValue { $0 }
                XCTAssertEqual(log.events.first, "head")
                XCTAssertEqual(log.events.last, "pass-end", "the pass that ended the transfer is reported: \(log.events)")
                XCTAssertEqual(log.events.filter { $0 == "pass-end" }.count, log.askings, "one answer per asking")
                XCTAssertEqual(log.events.filter { $0 == "end" }.count, 1, "\(log.events)")
                XCTAssertNotEqual(log.events.first { $0 != "head" && $0 != "body" && $0 != "pass-end" }, "failed")
                callbacks += log.events.filter { $0 != "pass-end" }.count
                passEnds += log.askings
            }
            // The last body bytes and the transfer's end always come in one pass, so a response is never reported
            // in more passes than it has callbacks minus one.
            XCTAssertLessThanOrEqual(passEnds, callbacks - 20)
        }
    }
}
