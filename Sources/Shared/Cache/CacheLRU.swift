/// A byte-bounded least-recently-used map with per-entry expiry, the storage of `MemoryCacheStore`.
///
/// Entries live in an array of slots threaded into a doubly linked list (most recent at `head`),
/// so lookups, insertions and evictions are O(1) without a node allocation per entry.
struct CacheLRU {
    private struct Slot {
        var key: String
        var value: [UInt8]
        var expiresAt: Int64
        var previous: Int?
        var next: Int?
    }

    let maxBytes: Int
    private var slots: [Slot] = []
    private var freeSlots: [Int] = []
    private var index: [String: Int] = [:]
    private var head: Int?
    private var tail: Int?
    private(set) var totalBytes = 0

    init(maxBytes: Int) {
        self.maxBytes = maxBytes
    }

    var count: Int { self.index.count }

    /// What an entry is charged against `maxBytes`: its key and its value.
    static func cost(key: String, value: [UInt8]) -> Int {
        key.utf8.count + value.count
    }

    /// Returns the live value for `key` and marks it most recently used; drops it if expired.
    mutating func get(_ key: String, now: Int64) -> [UInt8]? {
        guard let slot = self.index[key] else { return nil }
        guard self.slots[slot].expiresAt > now else {
            self.remove(slot: slot)
            return nil
        }
        self.unlink(slot)
        self.pushFront(slot)
        return self.slots[slot].value
    }

    /// Inserts or replaces `key`, evicting least recently used entries until it fits.
    mutating func set(_ key: String, value: [UInt8], expiresAt: Int64) {
        self.remove(key)
        let cost = Self.cost(key: key, value: value)
        guard cost <= self.maxBytes else { return }
        while self.totalBytes + cost > self.maxBytes, let oldest = self.tail {
            self.remove(slot: oldest)
        }
        let entry = Slot(key: key, value: value, expiresAt: expiresAt, previous: nil, next: nil)
        let slot: Int
        if let reused = self.freeSlots.popLast() {
            self.slots[reused] = entry
            slot = reused
        } else {
            self.slots.append(entry)
            slot = self.slots.count - 1
        }
        self.index[key] = slot
        self.totalBytes += cost
        self.pushFront(slot)
    }

    /// Removes `key` if present.
    mutating func remove(_ key: String) {
        if let slot = self.index[key] {
            self.remove(slot: slot)
        }
    }

    // MARK: - List plumbing

    private mutating func remove(slot: Int) {
        self.unlink(slot)
        let entry = self.slots[slot]
        self.index[entry.key] = nil
        self.totalBytes -= Self.cost(key: entry.key, value: entry.value)
        // Release the value's memory now rather than when the slot is reused.
        self.slots[slot].value = []
        self.slots[slot].key = ""
        self.freeSlots.append(slot)
    }

    private mutating func unlink(_ slot: Int) {
        let previous = self.slots[slot].previous
        let next = self.slots[slot].next
        if let previous { self.slots[previous].next = next } else { self.head = next }
        if let next { self.slots[next].previous = previous } else { self.tail = previous }
        self.slots[slot].previous = nil
        self.slots[slot].next = nil
    }

    private mutating func pushFront(_ slot: Int) {
        self.slots[slot].next = self.head
        self.slots[slot].previous = nil
        if let head = self.head { self.slots[head].previous = slot }
        self.head = slot
        if self.tail == nil { self.tail = slot }
    }
}
