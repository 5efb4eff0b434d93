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
            for (apiKey, authorization) in [(key, nil), (nil, "Bearer \(key)")] as [(String?, String?)] {
                let caller = try XCTUnwrap(auth.authenticate(apiKey: apiKey, authorization: authorization), key)
                XCTAssertEqual(caller.kind, .gatewayKey)
                XCTAssertEqual(caller.tenant, SHA256Digest.hex(Array(key.utf8)), "the tenant is the key's digest")
                XCTAssertEqual(caller.requestsPerMinute, rpm)
                XCTAssertEqual(caller.tokensPerMinute, tpm)
            }
        }
        XCTAssertNil(auth.authenticate(apiKey: "team-c", authorization: nil))
        XCTAssertNil(auth.authenticate(apiKey: nil, authorization: nil))
    }

    func testAPassedThroughCerebrasKeyIsItsOwnTenant() throws {
        let auth = try authenticator(["GATEWAY_API_KEYS": "gw-key", "PASSTHROUGH_KEYS": "true"])
        let caller = try XCTUnwrap(auth.authenticate(apiKey: "csk-own", authorization: nil))
        XCTAssertEqual(caller.kind, .passthrough(upstreamKey: "csk-own"))
        XCTAssertEqual(caller.tenant, SHA256Digest.hex(Array("csk-own".utf8)))
        XCTAssertEqual(try XCTUnwrap(auth.authenticate(apiKey: "gw-key", authorization: nil)).tenant,
                       SHA256Digest.hex(Array("gw-key".utf8)))
    }

    func testAConnectionsMemoAnswersTheKeyItsLastRequestWasLetInWith() throws {
        let auth = try authenticator(["GATEWAY_API_KEYS": "team-a,team-b"])
        let memo = AuthenticationMemo()
        let first = try XCTUnwrap(auth.authenticate(apiKey: "team-a", authorization: nil, memo: memo))
        XCTAssertEqual(first.tenant, SHA256Digest.hex(Array("team-a".utf8)))
        // The memo, not the digest, answers the same key again: a caller planted under it comes back as it is.
        let planted = Caller(kind: .gatewayKey, tenant: "planted")
        memo.remember("team-a", as: planted)
        XCTAssertEqual(auth.authenticate(apiKey: "team-a", authorization: nil, memo: memo), planted)
        XCTAssertEqual(auth.authenticate(apiKey: nil, authorization: "Bearer team-a", memo: memo), planted)
    }

    func testAConnectionsMemoNeverAnswersAnotherKey() throws {
        let auth = try authenticator(["GATEWAY_API_KEYS": "team-a,team-b"])
        let memo = AuthenticationMemo()
        XCTAssertNotNil(auth.authenticate(apiKey: "team-a", authorization: nil, memo: memo))
        for refused in ["team-c", "team-", "team-a ", "Team-a", ""] {
            XCTAssertNil(auth.authenticate(apiKey: refused, authorization: nil, memo: memo), refused)
        }
        XCTAssertNil(auth.authenticate(apiKey: nil, authorization: nil, memo: memo))
        // Another valid key is its own caller, and becomes the remembered one.
        let other = try XCTUnwrap(auth.authenticate(apiKey: "team-b", authorization: nil, memo: memo))
        XCTAssertEqual(other.tenant, SHA256Digest.hex(Array("team-b".utf8)))
        XCTAssertNil(auth.authenticate(apiKey: "team-c", authorization: nil, memo: memo))
    }

    func testARefusedFirstKeyIsNotRememberedAndTheBearerTokenStillLetsIn() throws {
        let auth = try authenticator(["GATEWAY_API_KEYS": "team-a"])
        let memo = AuthenticationMemo()
        for _ in 0..<2 {
            let caller = try XCTUnwrap(auth.authenticate(apiKey: "wrong", authorization: "Bearer team-a", memo: memo))
            XCTAssertEqual(caller.tenant, SHA256Digest.hex(Array("team-a".utf8)))
        }
        XCTAssertNil(memo.caller(presenting: "wrong"))
        XCTAssertNil(memo.caller(presenting: "team-a"), "only the first key presented is remembered")
    }
}
