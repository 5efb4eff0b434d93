import Shared
import XCTest

final class RedisURLTests: XCTestCase {
    func testHostOnlyUsesDefaults() throws {
        let url = try RedisURL(parsing: "redis://cache.internal")
        XCTAssertEqual(url, RedisURL(host: "cache.internal", port: 6379, database: 0))
        XCTAssertNil(url.password)
        XCTAssertNil(url.username)
    }

    func testPortAndDatabase() throws {
        let url = try RedisURL(parsing: "redis://10.0.0.5:6380/4")
        XCTAssertEqual(url.endpoint, .tcp(host: "10.0.0.5", port: 6380))
        XCTAssertEqual(url.database, 4)
    }

    func testTrailingSlashMeansDatabaseZero() throws {
        XCTAssertEqual(try RedisURL(parsing: "redis://h:1/").database, 0)
    }

    func testPasswordOnly() throws {
        let url = try RedisURL(parsing: "redis://:s3cret@localhost:6379/2")
        XCTAssertNil(url.username)
        XCTAssertEqual(url.password, "s3cret")
        XCTAssertEqual(url.database, 2)
    }

    func testUserAndPasswordWithPercentEncodingAndAt() throws {
        let url = try RedisURL(parsing: "redis://gateway:p%40ss:w@rd@redis:7000")
        XCTAssertEqual(url.username, "gateway")
        XCTAssertEqual(url.password, "p@ss:w@rd")
        XCTAssertEqual(url.endpoint, .tcp(host: "redis", port: 7000))
    }

    func testIPv6Host() throws {
        let url = try RedisURL(parsing: "redis://[::1]:6390/1")
        XCTAssertEqual(url.endpoint, .tcp(host: "::1", port: 6390))
        XCTAssertEqual(url.database, 1)
        XCTAssertEqual(try RedisURL(parsing: "redis://[fe80::1]").endpoint, .tcp(host: "fe80::1", port: 6379))
    }

    func testSchemeIsCaseInsensitive() throws {
        XCTAssertEqual(try RedisURL(parsing: "REDIS://h").endpoint, .tcp(host: "h", port: 6379))
        XCTAssertEqual(try RedisURL(parsing: "UNIX:///s").endpoint, .unixSocket(path: "/s"))
    }

    func testUnixSocket() throws {
        let url = try RedisURL(parsing: "unix:///run/redis/redis-server.sock")
        XCTAssertEqual(url, RedisURL(endpoint: .unixSocket(path: "/run/redis/redis-server.sock")))
        XCTAssertEqual(url.description, "unix:///run/redis/redis-server.sock?db=0")
    }

    func testUnixSocketWithDatabaseAndCredentials() throws {
        let url = try RedisURL(parsing: "unix://gateway:p%2Fss@w@/run/redis/r@1.sock?db=3")
        XCTAssertEqual(url.endpoint, .unixSocket(path: "/run/redis/r@1.sock"))
        XCTAssertEqual(url.database, 3)
        XCTAssertEqual(url.username, "gateway")
        XCTAssertEqual(url.password, "p/ss@w")
        XCTAssertEqual(url.description, "unix://gateway:***@/run/redis/r@1.sock?db=3")
        let passwordOnly = try RedisURL(parsing: "unix://:secret@/tmp/redis.sock")
        XCTAssertNil(passwordOnly.username)
        XCTAssertEqual(passwordOnly.password, "secret")
    }

    func testDescriptionHidesPassword() throws {
        let url = try RedisURL(parsing: "redis://user:topsecret@h:1/2")
        XCTAssertFalse(url.description.contains("topsecret"))
        XCTAssertEqual(url.description, "redis://user:***@h:1/2")
    }

    func testRejectsTLSWithSidecarAdvice() {
        XCTAssertThrowsError(try RedisURL(parsing: "rediss://h:6380")) { error in
            XCTAssertEqual(error as? RedisURLError, .tlsUnsupported)
            XCTAssertTrue("\(error)".contains("hiredis 0.14 has no TLS"))
            XCTAssertTrue("\(error)".contains("sidecar"))
        }
    }

    func testRejectsMalformedURLs() {
        let cases: [(String, RedisURLError)] = [
            ("http://h", .unsupportedScheme("http")),
            ("localhost:6379", .unsupportedScheme("(none)")),
            ("", .unsupportedScheme("(empty)")),
            ("redis://", .missingHost),
            ("redis://:6379", .missingHost),
            ("redis://h:0", .invalidPort("0")),
            ("redis://h:65536", .invalidPort("65536")),
            ("redis://h:+80", .invalidPort("+80")),
            ("redis://h:abc", .invalidPort("abc")),
            ("redis://h:", .invalidPort("")),
            ("redis://h/x", .invalidDatabase("x")),
            ("redis://h/-1", .invalidDatabase("-1")),
            ("redis://h/1/2", .invalidDatabase("1/2")),
            ("redis://user@h", .invalidAuthority("expected ':password@' or 'user:password@' before the host")),
            ("redis://[::1", .invalidAuthority("IPv6 host is missing its closing ']'")),
            ("redis://h?db=1", .unsupportedOptions("?db=1")),
            ("redis://:%zz@h", .invalidPercentEncoding),
            ("unix://", .invalidSocketPath("")),
            ("unix:///", .invalidSocketPath("/")),
            ("unix://redis.sock", .invalidSocketPath("redis.sock")),
            ("unix://run/redis.sock", .invalidSocketPath("run/redis.sock")),
            ("unix://:pw@host/redis.sock", .invalidSocketPath(":pw@host/redis.sock")),
            ("unix://user@/redis.sock", .invalidAuthority("expected ':password@' or 'user:password@' before the host")),
            ("unix:///redis.sock?timeout=1", .unsupportedOptions("?timeout=1")),
            ("unix:///redis.sock?db=x", .invalidDatabase("x")),
            ("unix:///redis.sock#x", .unsupportedOptions("#x")),
        ]
        for (text, expected) in cases {
            XCTAssertThrowsError(try RedisURL(parsing: text), text) { error in
                XCTAssertEqual(error as? RedisURLError, expected, text)
            }
        }
    }
}
