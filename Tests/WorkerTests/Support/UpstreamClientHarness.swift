import NIOPosix

@testable import Worker

/// Runs `body` with an upstream client on an event loop of its own (the loop's tick hook wired as in a worker), and
/// shuts both down afterwards.
func withUpstreamClient(_ body: (UpstreamClient) throws -> Void) throws {
    let ticks = UpstreamTickHook()
    let group = MultiThreadedEventLoopGroup(numberOfThreads: 1, metricsDelegate: ticks)
    defer { try? group.syncShutdownGracefully() }
    let client = try UpstreamClient.make(on: group.next(), ticks: ticks).wait()
    defer { try? client.shutdown().wait() }
    try body(client)
}
