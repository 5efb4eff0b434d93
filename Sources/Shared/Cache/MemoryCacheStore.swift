import NIOConcurrencyHelpers

/// A per-process `ResponseCacheStore`: LRU bounded by total bytes, with a per-entry size limit and
/// TTL expiry, guarded by a lock.
public final class MemoryCacheStore: ResponseCacheStore {
    private let lru: NIOLockedValueBox<CacheLRU>
    private let maxEntryBytes: Int
    private let clock: @Sendable () -> Int64

    /// Creates a store holding at most `maxBytes` (keys plus values), each entry at most `maxEntryBytes`.
    ///
    /// `clock` returns microseconds (monotonic by default); tests inject one.
    public init(
        maxBytes: Int,
        maxEntryBytes: Int,
        clock: @escaping @Sendable () -> Int64 = LocalRateLimiter.monotonicMicroseconds
    ) {
        self.lru = NIOLockedValueBox(CacheLRU(maxBytes: max(0, maxBytes)))
        self.maxEntryBytes = max(0, maxEntryBytes)
        self.clock = clock
    }

    /// Entries held, including expired ones not yet looked up or evicted.
    public var count: Int { self.lru.withLockedValue { $0.count } }

    /// Bytes held (keys plus values).
    public var totalBytes: Int { self.lru.withLockedValue { $0.totalBytes } }

    /// Returns the live value for `key`, synchronously.
    public func get(key: String) -> [UInt8]? {
        let now = self.clock()
        return self.lru.withLockedValue { $0.get(key, now: now) }
    }

    public func get(key: String, completion: @escaping @Sendable (Result<[UInt8]?, CacheError>) -> Void) {
        completion(.success(self.get(key: key)))
    }

    /// Stores `value`; an entry over `maxEntryBytes` or a non-positive TTL is not stored and also
    /// removes any older value for `key`, which would otherwise be served stale.
    public func put(key: String, value: [UInt8], ttlSeconds: Int) {
        let now = self.clock()
        let storable = ttlSeconds > 0 && CacheLRU.cost(key: key, value: value) <= self.maxEntryBytes
        self.lru.withLockedValue { lru in
            guard storable else {
                lru.remove(key)
                return
            }
            // Capped at ten years so an absurd TTL cannot overflow the microsecond clock.
            let ttl = Int64(min(ttlSeconds, 315_360_000)) * 1_000_000
            lru.set(key, value: value, expiresAt: now + ttl)
        }
    }
}
