import TestSupport
import XCTest

/// A test case whose every test gets the fake upstream and one in-process gateway in front of it, stopped after.
class GatewayTestCase: XCTestCase {
    var upstream: FakeUpstream!
    var gateway: GatewayUnderTest!

    override func setUpWithError() throws {
        upstream = try FakeUpstream()
        gateway = try GatewayUnderTest(upstream: upstream)
    }

    override func tearDown() {
        gateway?.stop()
        upstream?.stop()
    }
}
