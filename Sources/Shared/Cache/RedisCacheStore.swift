import Logging

/// A `ResponseCacheStore` shared by all replicas: `GET` / `SET … EX` under `cgw:cache:`.
public struct RedisCacheStore: ResponseCacheStore {
    /// Prefix of every cache key in Redis.
    public static let keyPrefix = "cgw:cache:"

    private let client: RedisClient
    private let maxEntryBytes: Int
    private let logger: Logger

    /// Creates a store on `client`; values over `maxEntryBytes` are not stored (large values would
    /// hold up every other command pipelined on the same connection).
    public init(client: RedisClient, maxEntryBytes: Int = 1 << 20, logger: Logger) {
        self.client = client
        self.maxEntryBytes = maxEntryBytes
        self.logger = logger
    }

    public func get(key: String, completion: @escaping @Sendable (Result<[UInt8]?, CacheError>) -> Void) {
        self.client.send([Array("GET".utf8), Array((Self.keyPrefix + key).utf8)]) { result in
            switch result {
            case .success(.bulk(let value)):
                completion(.success(value))
            case .success(.null):
                completion(.success(nil))
            case .success(.error(let message)):
                completion(.failure(.invalidReply(message)))
            case .success:
                completion(.failure(.invalidReply("GET returned a non-string")))
            case .failure(let error):
                completion(.failure(.unavailable("\(error)")))
            }
        }
    }

    public func put(key: String, value: [UInt8], ttlSeconds: Int) {
        guard ttlSeconds > 0, value.count <= self.maxEntryBytes else { return }
        let command: [[UInt8]] = [
            Array("SET".utf8), Array((Self.keyPrefix + key).utf8), value,
            Array("EX".utf8), Array(String(ttlSeconds).utf8),
        ]
        let logger = self.logger
        self.client.send(command) { result in
            switch result {
            case .success(.error(let message)):
                logger.debug("cache store failed", metadata: ["cache.error": "\(message)"])
            case .failure(let error):
                logger.debug("cache store failed", metadata: ["cache.error": "\(error)"])
            case .success:
                break
            }
        }
    }
}
