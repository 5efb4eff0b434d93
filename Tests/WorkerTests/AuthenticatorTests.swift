import NIOHTTP1
import Shared
import XCTest

@testable import Worker

/// `Authenticator`: which key a request presents, and the caller it makes (tenant, limits, models).
final class AuthenticatorTests: XCTestCase {
    private func authenticator(_ values: [String: String], keysFile: String? = nil) throws -> Authenticator {
        var settings = ["CEREBRAS_API_KEY": "csk-test"]
        settings.merge(values) { $1 }
        return Authenticator(config: try GatewayConfig(source: ConfigSource(values: settings),
                                                      keysFileContents: keysFile, cpuCount: 1))
    }

    func testEachKeyIsItsOwnTenantWithItsOwnLimits() throws {
        let keysFile = "\(SHA256Digest.hex(Array("team-a".utf8))) rpm=10\n\(SHA256Digest.hex(Array("team-b".utf8))) rpm=20 tpm=500\n"
        let auth = try authenticator(["GATEWAY_API_KEYS": ""], keysFile: keysFile)
        for (key, rpm, tpm) in [("team-a", 10, nil), ("team-b", 20, 500)] as [(String, Int, Int?)] {
            for headers in [HTTPHeaders([("x-api-key", key)]), HTTPHeaders([("authorization", "Bearer \(key)")])] {
                let caller = try XCTUnwrap(auth.authenticate(headers), key)
                XCTAssertEqual(caller.kind, .gatewayKey)
                XCTAssertEqual(caller.tenant, SHA256Digest.hex(Array(key.utf8)), "the tenant is the key's digest")
                XCTAssertEqual(caller.requestsPerMinute, rpm)
                XCTAssertEqual(caller.tokensPerMinute, tpm)
            }
        }
        XCTAssertNil(auth.authenticate(HTTPHeaders([("x-api-key", "team-c")])))
        XCTAssertNil(auth.authenticate(HTTPHeaders()))
    }

    func testAPassedThroughCerebrasKeyIsItsOwnTenant() throws {
        let auth = try authenticator(["GATEWAY_API_KEYS": "gw-key", "PASSTHROUGH_KEYS": "true"])
        let caller = try XCTUnwrap(auth.authenticate(HTTPHeaders([("x-api-key", "csk-own")])))
        XCTAssertEqual(caller.kind, .passthrough(upstreamKey: "csk-own"))
        XCTAssertEqual(caller.tenant, SHA256Digest.hex(Array("csk-own".utf8)))
        XCTAssertEqual(try XCTUnwrap(auth.authenticate(HTTPHeaders([("x-api-key", "gw-key")]))).tenant,
                       SHA256Digest.hex(Array("gw-key".utf8)))
    }
}
