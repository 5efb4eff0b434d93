/// Where cached responses live: per process in memory, or shared by all replicas in Redis.
///
/// Keys are opaque digests chosen by the caller (they already include the tenant), values are
/// serialized responses.
public protocol ResponseCacheStore: Sendable {
    /// Looks `key` up; `.success(nil)` is a miss.
    func get(key: String, completion: @escaping @Sendable (Result<[UInt8]?, CacheError>) -> Void)

    /// Stores `value` under `key` for `ttlSeconds`; best effort, failures only cost a future miss.
    func put(key: String, value: [UInt8], ttlSeconds: Int)
}
