import Glibc
import NIOCore
import NIOPosix
import XCTest

@testable import Worker

/// `EventLoopEpoll` names the epoll set an NIO event loop waits on (what the upstream client nests curl's set in).
final class EventLoopEpollTests: XCTestCase {
    func testEachLoopsOwnEpollSetIsFoundAndHoldsThatLoopsChannels() throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 2)
        defer { try? group.syncShutdownGracefully() }
        let loops = group.makeIterator().map { $0 }
        let found = try loops.map { try EventLoopEpoll.descriptor(of: $0).wait() }
        XCTAssertNotEqual(found[0], found[1], "two loops, two epoll sets")

        // A channel registered on the second loop afterwards appears in the second set, not in the first.
        var ends: [CInt] = [-1, -1]
        XCTAssertEqual(pipe(&ends), 0)
        defer { close(ends[1]) }
        let channel = try NIOPipeBootstrap(group: loops[1]).takingOwnershipOfDescriptor(input: ends[0]).wait()
        defer { try? channel.close().wait() }
        var status = stat()
        XCTAssertEqual(fstat(ends[0], &status), 0)
        let inode = UInt64(status.st_ino)
        XCTAssertTrue(EventLoopEpoll.entries(ofEpoll: found[1]).contains { $0 == (ends[0], inode) })
        XCTAssertFalse(EventLoopEpoll.entries(ofEpoll: found[0]).contains { $0.descriptor == ends[0] })
        XCTAssertEqual(EventLoopEpoll.epollDescriptor(watching: ends[0], inode: inode), found[1])
        XCTAssertNil(EventLoopEpoll.epollDescriptor(watching: ends[0], inode: inode + 1),
                     "another file under that number")
    }

    func testADescriptorInNoEpollSetIsNotFound() throws {
        var ends: [CInt] = [-1, -1]
        XCTAssertEqual(pipe(&ends), 0)
        defer { ends.forEach { close($0) } }
        var status = stat()
        XCTAssertEqual(fstat(ends[0], &status), 0)
        XCTAssertNil(EventLoopEpoll.epollDescriptor(watching: ends[0], inode: UInt64(status.st_ino)))
    }
}
