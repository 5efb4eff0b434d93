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
                    UpstreamRequest(url: UpstreamURL(upstream.baseURL + "/chat/completions"), apiKey: "csk-test", body: Array(body.utf8),
                                    connectTimeoutMs: 2_000, verifyTLS: true),
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
