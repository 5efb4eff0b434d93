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

    func testFetchAllReadsTheIndexWhateverTheKeyspaceHolds() throws {
        let client = try self.connectedClient(try self.startServer())
        let store = RedisFleetStore(client: client)
        let count = 250
        let done = DispatchGroup()
        for index in 0..<count {
            done.enter()
            let instance = String(format: "n%03d", index)
            store.publish(instance: instance, payload: [UInt8(index % 256)], ttlSeconds: 60) { _ in done.leave() }
        }
        XCTAssertEqual(done.wait(timeout: .now() + 30), .success)
        // The response cache's keys share the database: 20,000 of them.
        for batch in 0..<10 {
            let pairs = (0..<2_000).flatMap { ["cgw:cache:t:\(batch)-\($0)", "answer"] }
            XCTAssertEqual(client.sendAndWait(["MSET"] + pairs), .success(.status("OK")))
        }
        XCTAssertEqual(client.sendAndWait(["CONFIG", "RESETSTAT"]), .success(.status("OK")))

        let nodes = try XCTUnwrap(self.fetchAll(store))
        XCTAssertEqual(nodes.count, count)
        XCTAssertEqual(nodes.first?.instance, "n000")
        XCTAssertEqual(nodes.last?.instance, String(format: "n%03d", count - 1))
        XCTAssertEqual(nodes.last?.payload, [UInt8((count - 1) % 256)])

        // Two commands, none of which walks the keyspace.
        guard case .success(.bulk(let stats)) = client.sendAndWait(["INFO", "commandstats"]) else {
            return XCTFail("INFO failed")
        }
        let calls = String(decoding: stats, as: UTF8.self).split(whereSeparator: \.isNewline)
            .filter { $0.hasPrefix("cmdstat_") && !$0.hasPrefix("cmdstat_config") }
            .map { $0.split(separator: ",")[0] }
        XCTAssertEqual(calls.sorted(), ["cmdstat_mget:calls=1", "cmdstat_zrange:calls=1"])
    }

    func testANameNotPublishedForTheForgetTimeLeavesTheIndex() throws {
        let client = try self.connectedClient(try self.startServer())
        let clock = LockedBox(1_000_000)  // Unix seconds, moved by hand
        let store = RedisFleetStore(client: client, forgetAfterSeconds: 600, now: { clock.value })
        for instance in ["old", "kept"] {
            XCTAssertNotNil(try WaitForCallback.result {
                store.publish(instance: instance, payload: [1], ttlSeconds: 3600, completion: $0)
            }?.get())
        }
        clock.value += 300
        XCTAssertNotNil(try WaitForCallback.result {
            store.publish(instance: "kept", payload: [2], ttlSeconds: 3600, completion: $0)
        }?.get())
        // 600 s after "old" last published, "kept" (published 300 s later) stays; exactly at the limit, "old" too.
        clock.value += 300
        XCTAssertNotNil(try WaitForCallback.result {
            store.publish(instance: "new", payload: [3], ttlSeconds: 3600, completion: $0)
        }?.get())
        XCTAssertEqual(self.indexNames(client), ["kept", "new", "old"])
        clock.value += 1
        XCTAssertNotNil(try WaitForCallback.result {
            store.publish(instance: "new", payload: [4], ttlSeconds: 3600, completion: $0)
        }?.get())
        XCTAssertEqual(self.indexNames(client), ["kept", "new"])
        // Gone from the index, it is no longer read, though its key (an hour's TTL here) still exists.
        XCTAssertEqual(self.fetchAll(store)?.map(\.instance), ["kept", "new"])
        XCTAssertEqual(client.sendAndWait(["EXISTS", "cgw:node:old"]), .success(.integer(1)))
    }

    private func indexNames(_ client: RedisClient) -> [String]? {
        guard case .success(.array(let members)) = client.sendAndWait(["ZRANGE", RedisFleetStore.indexKey, "0", "-1"])
        else { return nil }
        return members.compactMap(\.string).sorted()
    }
}

