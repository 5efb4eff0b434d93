import Foundation
import Shared
import XCTest

final class RedisFleetStoreTests: RedisServerTestCase {
    private func fetchAll(_ store: RedisFleetStore) -> [(instance: String, payload: [UInt8])]? {
        try? WaitForCallback.result { store.fetchAll(completion: $0) }?.get()
    }

    func testPublishAndFetchAll() throws {
        let client = try self.connectedClient(try self.startServer())
        let store = RedisFleetStore(client: client)
        XCTAssertEqual(self.fetchAll(store)?.count, 0)

        let published = WaitForCallback.result {
            store.publish(instance: "node-b", payload: Array("{\"rps\":2}".utf8), ttlSeconds: 30, completion: $0)
        }
        XCTAssertNotNil(try published?.get())
        store.publish(instance: "node-a", payload: [0, 1, 2], ttlSeconds: 30)
        XCTAssertEqual(client.sendAndWait(["SET", "cgw:cache:unrelated", "x"]), .success(.status("OK")))

        let nodes = try XCTUnwrap(self.fetchAll(store))
        XCTAssertEqual(nodes.map(\.instance), ["node-a", "node-b"])
        XCTAssertEqual(nodes.map(\.payload), [[0, 1, 2], Array("{\"rps\":2}".utf8)])

        guard case .success(.integer(let ttl)) = client.sendAndWait(["TTL", "cgw:node:node-a"]) else {
            return XCTFail("TTL failed")
        }
        XCTAssertGreaterThan(ttl, 0)
        XCTAssertLessThanOrEqual(ttl, 30)

        // A node that stops publishing disappears with its key.
        XCTAssertEqual(client.sendAndWait(["DEL", "cgw:node:node-b"]), .success(.integer(1)))
        XCTAssertEqual(self.fetchAll(store)?.map(\.instance), ["node-a"])
    }

    func testFetchAllFollowsTheScanCursor() throws {
        let client = try self.connectedClient(try self.startServer())
        let store = RedisFleetStore(client: client, scanCount: 10)
        let count = 250
        let done = DispatchGroup()
        for index in 0..<count {
            done.enter()
            let instance = String(format: "n%03d", index)
            store.publish(instance: instance, payload: [UInt8(index % 256)], ttlSeconds: 60) { _ in done.leave() }
        }
        XCTAssertEqual(done.wait(timeout: .now() + 30), .success)
        let nodes = try XCTUnwrap(self.fetchAll(store))
        XCTAssertEqual(nodes.count, count)
        XCTAssertEqual(nodes.first?.instance, "n000")
        XCTAssertEqual(nodes.last?.payload, [UInt8((count - 1) % 256)])
    }
}
