import Foundation
import Logging
import Shared
import XCTest

final class RedisCacheStoreTests: RedisServerTestCase {
    private func makeStore(_ client: RedisClient, maxEntryBytes: Int = 1 << 20) -> RedisCacheStore {
        var logger = Logger(label: "test.cache")
        logger.logLevel = .critical
        return RedisCacheStore(client: client, maxEntryBytes: maxEntryBytes, logger: logger)
    }

    private func get(_ store: RedisCacheStore, _ key: String) -> Result<[UInt8]?, CacheError>? {
        WaitForCallback.result { store.get(key: key, completion: $0) }
    }

    func testPutThenGetUnderThePrefixWithTTL() throws {
        let client = try self.connectedClient(try self.startServer())
        let store = self.makeStore(client)
        let value: [UInt8] = [0, 1, 2, 13, 10, 255]
        store.put(key: "tenant:abc", value: value, ttlSeconds: 30)
        // `put` is fire-and-forget; the client keeps order, so a later GET sees it.
        XCTAssertEqual(self.get(store, "tenant:abc"), .success(value))
        XCTAssertEqual(self.get(store, "tenant:missing"), .success(nil))
        XCTAssertEqual(client.sendAndWait(["GET", "cgw:cache:tenant:abc"]), .success(.bulk(value)))
        guard case .success(.integer(let ttl)) = client.sendAndWait(["TTL", "cgw:cache:tenant:abc"]) else {
            return XCTFail("TTL failed")
        }
        XCTAssertGreaterThan(ttl, 0)
        XCTAssertLessThanOrEqual(ttl, 30)

        // A value far larger than a command's first buffer, every byte value in it, comes back whole.
        let large = (0..<100_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        store.put(key: "tenant:large", value: large, ttlSeconds: 30)
        XCTAssertEqual(self.get(store, "tenant:large"), .success(large))
    }

    func testEntriesExpire() throws {
        let client = try self.connectedClient(try self.startServer())
        let store = self.makeStore(client)
        store.put(key: "brief", value: [1], ttlSeconds: 1)
        XCTAssertEqual(self.get(store, "brief"), .success([1]))
        XCTAssertTrue(WaitForCallback.until(timeout: 10) { self.get(store, "brief") == .success(nil) })
    }

    func testOversizeAndNonPositiveTTLAreNotStored() throws {
        let client = try self.connectedClient(try self.startServer())
        let store = self.makeStore(client, maxEntryBytes: 10)
        store.put(key: "big", value: [UInt8](repeating: 1, count: 11), ttlSeconds: 60)
        store.put(key: "forever", value: [1], ttlSeconds: 0)
        XCTAssertEqual(client.sendAndWait(["DBSIZE"]), .success(.integer(0)))
    }

    func testErrorsMapToCacheErrors() throws {
        let client = try self.connectedClient(try self.startServer())
        let store = self.makeStore(client)
        XCTAssertEqual(client.sendAndWait(["RPUSH", "cgw:cache:list", "x"]), .success(.integer(1)))
        guard case .failure(.invalidReply(let message)) = self.get(store, "list") else {
            return XCTFail("expected a WRONGTYPE error")
        }
        XCTAssertTrue(message.contains("WRONGTYPE"), message)

        let down = self.makeClient(RedisURL(host: "127.0.0.1", port: try RedisServerProcess.freePort()))
        XCTAssertTrue(WaitForCallback.until { down.state == .down })
        guard case .failure(.unavailable) = self.get(self.makeStore(down), "k") else {
            return XCTFail("expected .unavailable")
        }
    }
}
