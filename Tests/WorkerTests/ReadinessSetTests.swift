import Dispatch
import Glibc
import NIOConcurrencyHelpers
import TestSupport
import XCTest

@testable import Worker

/// `ReadinessSet` keeps an idle upstream connection registered ("parked") between transfers, so reusing it costs no
/// `epoll_ctl`; these tests check what the kernel's set really holds (`/proc/self/fdinfo`) at each step.
final class ReadinessSetTests: XCTestCase {
    private func socketPair() -> (CInt, CInt) {
        var ends: [CInt] = [-1, -1]
        XCTAssertEqual(socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &ends), 0)
        return (ends[0], ends[1])
    }

    private func inode(_ fd: CInt) -> UInt64 {
        var status = stat()
        XCTAssertEqual(fstat(fd, &status), 0)
        return UInt64(status.st_ino)
    }

    private func kernelHolds(_ set: ReadinessSet, _ fd: CInt) -> Bool {
        EventLoopEpoll.entries(ofEpoll: set.epoll).contains { $0 == (fd, inode(fd)) }
    }

    func testAnAnnouncedSocketStaysRegisteredWhenParkedAndWatchingItAgainCostsNothing() {
        let set = ReadinessSet()
        let (socket, peer) = socketPair()
        defer { close(socket); close(peer) }
        set.opened(socket)
        set.watch(socket, readable: true, writable: false)
        XCTAssertEqual(set.kernelUpdates, 1)
        XCTAssertTrue(kernelHolds(set, socket))

        set.unwatch(socket)
        XCTAssertEqual(set.kernelUpdates, 1, "parking makes no system call")
        XCTAssertTrue(kernelHolds(set, socket))
        XCTAssertEqual(set.parkedCount, 1)
        XCTAssertFalse(set.watchesAny)
        XCTAssertFalse(set.isEmpty)

        set.watch(socket, readable: true, writable: false)
        XCTAssertEqual(set.kernelUpdates, 1, "the same interest again: nothing to change")
        XCTAssertEqual(set.parkedCount, 0)
        XCTAssertTrue(set.watchesAny)

        set.watch(socket, readable: false, writable: true)
        XCTAssertEqual(set.kernelUpdates, 2, "another direction is a change")
        var ready: [ReadinessSet.Event] = []
        set.poll(into: &ready)
        XCTAssertEqual(ready.map(\.fd), [socket])
        XCTAssertEqual(ready.first?.writable, true)
    }

    func testASocketWhoseClosingIsNotAnnouncedLeavesTheSetAtOnce() {
        let set = ReadinessSet()
        let (socket, peer) = socketPair()
        defer { close(socket); close(peer) }
        set.watch(socket, readable: true, writable: false)
        set.unwatch(socket)
        XCTAssertEqual(set.kernelUpdates, 2)
        XCTAssertFalse(kernelHolds(set, socket))
        XCTAssertTrue(set.isEmpty)
    }

    func testAParkedSocketThatTurnsReadyIsTakenOutAndNotReported() {
        let set = ReadinessSet()
        let (socket, peer) = socketPair()
        defer { close(socket) }
        set.opened(socket)
        set.watch(socket, readable: true, writable: false)
        set.unwatch(socket)
        close(peer)  // the upstream closes the idle connection: the socket reads end of file

        var ready: [ReadinessSet.Event] = []
        set.poll(into: &ready)
        XCTAssertTrue(ready.isEmpty, "curl does not watch it: \(ready.map(\.fd))")
        XCTAssertFalse(kernelHolds(set, socket))
        XCTAssertTrue(set.isEmpty)
        set.poll(into: &ready)
        XCTAssertTrue(ready.isEmpty)
    }

    func testADescriptorNumberReusedAfterAnAnnouncedCloseIsRegisteredAgain() {
        let set = ReadinessSet()
        let (socket, peer) = socketPair()
        set.opened(socket)
        set.watch(socket, readable: true, writable: false)
        set.unwatch(socket)
        set.closing(socket)
        close(socket)
        close(peer)

        // A new connection under the same number, with the same interest as the parked one had.
        let (fresh, freshPeer) = socketPair()
        if fresh != socket {  // the lowest free number is usually the same one already
            XCTAssertEqual(dup2(fresh, socket), socket)
            close(fresh)
        }
        defer { close(socket); close(freshPeer) }
        let before = set.kernelUpdates
        set.opened(socket)
        set.watch(socket, readable: true, writable: false)
        XCTAssertEqual(set.kernelUpdates, before + 1)
        XCTAssertTrue(kernelHolds(set, socket), "the new socket is in the kernel's set")

        XCTAssertEqual(write(freshPeer, "x", 1), 1)
        var ready: [ReadinessSet.Event] = []
        set.poll(into: &ready)
        XCTAssertEqual(ready.map(\.fd), [socket])
        XCTAssertEqual(ready.first?.readable, true)
    }
}

/// The same through curl: transfers on a kept-alive connection, and an idle connection the upstream closes.
final class UpstreamConnectionParkingTests: XCTestCase {
    private final class Completion: UpstreamTransferDelegate {
        let result = NIOLockedValueBox<UpstreamTransportError??>(nil)
        let done = DispatchSemaphore(value: 0)

        func upstreamReceivedHead(status: Int, headers: [(name: String, value: String)]) {}
        func upstreamReceived(_ bytes: UnsafeRawBufferPointer) -> Bool { true }
        func upstreamCompleted(error: UpstreamTransportError?) {
            result.withLockedValue { $0 = .some(error) }
            done.signal()
        }
    }

    private func start(_ client: UpstreamClient, to upstream: FakeUpstream, content: String) -> Completion {
        let completion = Completion()
        let body = #"{"model":"m","stream":true,"messages":[{"role":"user","content":"\#(content)"}]}"#
        _ = client.start(
            UpstreamRequest(url: UpstreamURL(upstream.baseURL + "/chat/completions"), apiKey: "csk-test",
                            body: UpstreamBody(Array(body.utf8)), connectTimeoutMs: 2_000, verifyTLS: true),
            delegate: completion)
        return completion
    }

    private func wait(for completion: Completion, _ name: String) {
        XCTAssertEqual(completion.done.wait(timeout: .now() + 10), .success, "\(name) did not finish")
        let error = completion.result.withLockedValue { $0 }
        XCTAssertNotNil(error, "\(name) did not complete")
        XCTAssertNil(error ?? nil, "\(name) failed")
    }

    private func send(_ client: UpstreamClient, to upstream: FakeUpstream, _ index: Int) throws {
        wait(for: start(client, to: upstream, content: "hi \(index)"), "request \(index)")
    }

    /// 20 streams of half a second at once, so that they overlap, each on a connection of its own.
    private func sendBurst(_ client: UpstreamClient, to upstream: FakeUpstream, _ burst: Int) {
        let scenario = "[[scenario:paced;chunks=5;interval_ms=100]]"
        let completions = (0..<20).map { start(client, to: upstream, content: "\(scenario) \(burst)-\($0)") }
        for (index, completion) in completions.enumerated() {
            wait(for: completion, "stream \(burst)-\(index)")
        }
    }

    private func statistics(_ client: UpstreamClient) throws -> (kernelUpdates: Int, registered: Int, parked: Int) {
        try client.loop.submit { client.socketSetStatistics }.wait()
    }

    func testTransfersOnAKeptAliveConnectionDoNotReRegisterIt() throws {
        let upstream = try FakeUpstream()
        defer { upstream.stop() }
        try withUpstreamClient { client in
            try send(client, to: upstream, 0)
            let first = try statistics(client)
            XCTAssertEqual(first.registered, 1)
            XCTAssertEqual(first.parked, 1, "the idle connection stays registered")
            for index in 1...20 { try send(client, to: upstream, index) }
            let after = try statistics(client)
            XCTAssertEqual(after.registered, 1)
            XCTAssertEqual(after.parked, 1)
            // Each transfer watched and released the socket; registering and deregistering it each time is 40.
            let updates = after.kernelUpdates - first.kernelUpdates
            XCTAssertLessThanOrEqual(updates, 2, "20 transfers on one connection changed the kernel's set \(updates) times")
        }
    }

    /// A burst that finds no idle connection opens one per transfer (curl is then told not to look for one to
    /// reuse: `UpstreamClient.add`); the bursts after it reuse every one of them and open none.
    func testEachBurstAfterTheFirstReusesTheConnectionsTheFirstOpened() throws {
        let upstream = try FakeUpstream()
        defer { upstream.stop() }
        try withUpstreamClient { client in
            for burst in 0..<3 {
                sendBurst(client, to: upstream, burst)
                let statistics = try statistics(client)
                XCTAssertEqual(statistics.registered, 20, "burst \(burst): one connection per stream, kept")
                XCTAssertEqual(statistics.parked, 20, "burst \(burst)")
            }
        }
    }

    /// A quiet worker frees most of its idle curl handles (`IdleMemoryRelease`); the connections are curl's multi
    /// handle's, not the easy handles', so the next burst still reuses every one and opens none.
    func testFreeingSpareHandlesKeepsTheConnections() throws {
        let upstream = try FakeUpstream()
        defer { upstream.stop() }
        try withUpstreamClient { client in
            for burst in 0..<2 {
                sendBurst(client, to: upstream, burst)
                XCTAssertEqual(try client.loop.submit { client.spareHandleCount }.wait(), 20, "burst \(burst)")
                let statistics = try statistics(client)
                XCTAssertEqual(statistics.registered, 20, "burst \(burst): the first burst's connections, kept")
                XCTAssertEqual(statistics.parked, 20, "burst \(burst)")
                try client.releaseSpareHandles(keeping: 4).wait()
                XCTAssertEqual(try client.loop.submit { client.spareHandleCount }.wait(), 4, "burst \(burst)")
                XCTAssertEqual(try self.statistics(client).registered, 20, "burst \(burst): no connection closed")
            }
        }
    }

    func testAnIdleConnectionTheUpstreamClosesLeavesTheSetAndTheClientGoesOn() throws {
        let first = try FakeUpstream()
        defer { first.stop() }
        try withUpstreamClient { client in
            try send(client, to: first, 0)
            XCTAssertEqual(try statistics(client).parked, 1)
            first.stop()  // closes the kept-alive connection: the parked socket reads end of file

            // The loop wakes for it by itself (no request is running) and takes it out, rather than spinning on it.
            _ = try eventually { try statistics(client).registered == 0 }
            XCTAssertEqual(try statistics(client).registered, 0, "the closed connection is still in the set")

            let second = try FakeUpstream()
            defer { second.stop() }
            for index in 1...3 { try send(client, to: second, index) }
            XCTAssertEqual(try statistics(client).parked, 1)
        }
    }
}
