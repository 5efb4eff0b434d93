import Foundation
import Shared
import TestSupport
import XCTest

final class MemoryCacheStoreTests: XCTestCase {
    private func bytes(_ count: Int, _ fill: UInt8 = 7) -> [UInt8] {
        [UInt8](repeating: fill, count: count)
    }

    func testHitMissAndProtocolPath() {
        let store = MemoryCacheStore(maxBytes: 1_000, maxEntryBytes: 500)
        store.put(key: "k", value: Array("hello".utf8), ttlSeconds: 60)
        XCTAssertEqual(store.get(key: "k"), Array("hello".utf8))
        XCTAssertNil(store.get(key: "other"))
        XCTAssertEqual(WaitForCallback.result { store.get(key: "k", completion: $0) }, .success(Array("hello".utf8)))
        XCTAssertEqual(WaitForCallback.result { store.get(key: "nope", completion: $0) }, .success(nil))
    }

    func testEntriesExpireAfterTheirTTL() {
        let clock = LockedBox<Int64>(0)
        let store = MemoryCacheStore(maxBytes: 1_000, maxEntryBytes: 500, clock: { clock.value })
        store.put(key: "short", value: self.bytes(10), ttlSeconds: 10)
        store.put(key: "long", value: self.bytes(10), ttlSeconds: 100)

        clock.value = 9_999_999
        XCTAssertNotNil(store.get(key: "short"))
        clock.value = 10_000_000
        XCTAssertNil(store.get(key: "short"))
        XCTAssertNotNil(store.get(key: "long"))
        // The expired entry's bytes are released when it is found expired.
        XCTAssertEqual(store.totalBytes, "long".utf8.count + 10)

        store.put(key: "zero", value: self.bytes(1), ttlSeconds: 0)
        XCTAssertNil(store.get(key: "zero"))
    }

    func testLeastRecentlyUsedIsEvictedByBytes() {
        let store = MemoryCacheStore(maxBytes: 100, maxEntryBytes: 100)
        // Each entry costs 1 (key) + 29 (value) = 30 bytes; three fit in 100.
        store.put(key: "a", value: self.bytes(29), ttlSeconds: 60)
        store.put(key: "b", value: self.bytes(29), ttlSeconds: 60)
        store.put(key: "c", value: self.bytes(29), ttlSeconds: 60)
        XCTAssertEqual(store.totalBytes, 90)
        XCTAssertNotNil(store.get(key: "a"))  // "b" is now the least recently used

        store.put(key: "d", value: self.bytes(29), ttlSeconds: 60)
        XCTAssertNil(store.get(key: "b"))
        XCTAssertNotNil(store.get(key: "a"))
        XCTAssertNotNil(store.get(key: "c"))
        XCTAssertNotNil(store.get(key: "d"))
        XCTAssertEqual(store.totalBytes, 90)

        // A big entry evicts as many old ones as it needs.
        store.put(key: "e", value: self.bytes(69), ttlSeconds: 60)
        XCTAssertEqual(store.count, 2)
        XCTAssertNotNil(store.get(key: "e"))
        XCTAssertNotNil(store.get(key: "d"))
        XCTAssertLessThanOrEqual(store.totalBytes, 100)
    }

    func testReplacingAKeyUpdatesItsSize() {
        let store = MemoryCacheStore(maxBytes: 100, maxEntryBytes: 100)
        store.put(key: "k", value: self.bytes(50), ttlSeconds: 60)
        store.put(key: "k", value: self.bytes(10, 1), ttlSeconds: 60)
        XCTAssertEqual(store.count, 1)
        XCTAssertEqual(store.totalBytes, 11)
        XCTAssertEqual(store.get(key: "k"), self.bytes(10, 1))
    }

    func testOversizeEntriesAreRejectedAndDropTheOldValue() {
        let store = MemoryCacheStore(maxBytes: 1_000, maxEntryBytes: 50)
        store.put(key: "k", value: self.bytes(10), ttlSeconds: 60)
        store.put(key: "k", value: self.bytes(60), ttlSeconds: 60)
        XCTAssertNil(store.get(key: "k"), "a stale smaller value must not survive an oversize update")
        store.put(key: "big", value: self.bytes(50), ttlSeconds: 60)  // 3 + 50 > 50
        XCTAssertNil(store.get(key: "big"))
        XCTAssertEqual(store.totalBytes, 0)

        let tiny = MemoryCacheStore(maxBytes: 20, maxEntryBytes: 1_000)
        tiny.put(key: "k", value: self.bytes(30), ttlSeconds: 60)
        XCTAssertNil(tiny.get(key: "k"))
    }

    /// Random operations against a plain array model of LRU order.
    func testMatchesAReferenceModel() {
        let maxBytes = 200
        let store = MemoryCacheStore(maxBytes: maxBytes, maxEntryBytes: 80)
        var model: [(key: String, value: [UInt8])] = []  // most recent last
        var random = SplitMix64(seed: 42)
        for step in 0..<5_000 {
            let key = "k\(random.next() % 12)"
            if random.next() % 3 == 0 {
                let value = self.bytes(Int(random.next() % 90), UInt8(step % 251))
                store.put(key: key, value: value, ttlSeconds: 60)
                model.removeAll { $0.key == key }
                if key.utf8.count + value.count <= 80 {
                    while model.reduce(0, { $0 + $1.key.utf8.count + $1.value.count }) + key.utf8.count + value.count
                        > maxBytes
                    {
                        model.removeFirst()
                    }
                    model.append((key, value))
                }
            } else {
                let expected = model.first { $0.key == key }?.value
                XCTAssertEqual(store.get(key: key), expected, "step \(step)")
                if let index = model.firstIndex(where: { $0.key == key }) {
                    model.append(model.remove(at: index))
                }
            }
            XCTAssertEqual(store.count, model.count, "step \(step)")
        }
        XCTAssertEqual(store.totalBytes, model.reduce(0) { $0 + $1.key.utf8.count + $1.value.count })
    }

    func testConcurrentUseKeepsTheBound() {
        let store = MemoryCacheStore(maxBytes: 10_000, maxEntryBytes: 1_000)
        DispatchQueue.concurrentPerform(iterations: 8) { worker in
            for index in 0..<2_000 {
                let key = "w\(worker)-\(index % 50)"
                store.put(key: key, value: [UInt8](repeating: UInt8(worker), count: index % 300), ttlSeconds: 60)
                if let value = store.get(key: key) {
                    XCTAssertTrue(value.allSatisfy { $0 == UInt8(worker) })
                }
            }
        }
        XCTAssertLessThanOrEqual(store.totalBytes, 10_000)
        XCTAssertGreaterThan(store.count, 0)
    }
}
