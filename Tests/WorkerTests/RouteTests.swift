import NIOHTTP1
import XCTest

@testable import Worker

/// Which route a method and request target resolve to.
final class RouteTests: XCTestCase {
    func testPathsWithAndWithoutQueryStrings() {
        XCTAssertEqual(Route.resolve(method: .POST, uri: "/v1/messages"), .messages)
        XCTAssertEqual(Route.resolve(method: .POST, uri: "/v1/messages?beta=true"), .messages)
        XCTAssertEqual(Route.resolve(method: .POST, uri: "/v1/messages/?a=1?b=2"), .messages)
        XCTAssertEqual(Route.resolve(method: .POST, uri: "/v1/messages/count_tokens?beta=true"), .countTokens)
        XCTAssertEqual(Route.resolve(method: .GET, uri: "/v1/models"), .listModels)
        XCTAssertEqual(Route.resolve(method: .GET, uri: "/v1/models/"), .listModels)
        XCTAssertEqual(Route.resolve(method: .GET, uri: "/v1/models/zai-glm-4.7?x=1"), .getModel("zai-glm-4.7"))
        XCTAssertEqual(Route.resolve(method: .GET, uri: "/v1/models/a/b"), .notFound)
        XCTAssertEqual(Route.resolve(method: .GET, uri: "/?probe"), .root)
        XCTAssertEqual(Route.resolve(method: .GET, uri: ""), .root)
        XCTAssertEqual(Route.resolve(method: .GET, uri: "?"), .root)
        XCTAssertEqual(Route.resolve(method: .GET, uri: "/v1/messagesX"), .notFound)
    }

    func testMethods() {
        XCTAssertEqual(Route.resolve(method: .GET, uri: "/v1/messages"), .methodNotAllowed(allowed: "POST"))
        XCTAssertEqual(Route.resolve(method: .HEAD, uri: "/health"), .health)
        XCTAssertEqual(Route.resolve(method: .POST, uri: "/healthz"), .methodNotAllowed(allowed: "GET"))
    }
}
