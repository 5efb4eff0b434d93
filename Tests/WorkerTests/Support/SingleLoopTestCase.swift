import NIOCore
import NIOPosix
import XCTest

/// A test case whose every test gets an event loop of its own (a one-thread group), shut down after.
class SingleLoopTestCase: XCTestCase {
    private var group: MultiThreadedEventLoopGroup!
    var loop: EventLoop { group.next() }

    override func setUp() {
        group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    }

    override func tearDown() {
        try? group.syncShutdownGracefully()
    }
}
