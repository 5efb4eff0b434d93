import Logging

/// A `ResponseCacheStore` shared by all replicas: `GET` / `SET … EX` under `cgw:cache:`.
///
/// A class: the worker holds it as `any ResponseCacheStore`, and a cacheable request copies that out for its lookup
/// and its store; as a struct each copy retained the client and the logger's parts one by one.
public final class RedisCacheStore: ResponseCacheStore {
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
        self.client.send(Self.getCommand(key: key)) { result in
            completion(Self.value(from: result))
        }
    }

    /// The `GET` for `key`, for pipelining it with other commands. Encoded from its parts, as the `SET` is: no byte
    /// array per argument on the way (a cacheable request sends both).
    public static func getCommand(key: String) -> [RESPArgument] {
        [.text("GET"), .text(Self.keyPrefix + key)]
    }

    /// Reads the reply to `getCommand`: the stored value, or nil for a miss.
    public static func value(from result: Result<RedisReply, RedisError>) -> Result<[UInt8]?, CacheError> {
        switch result {
        case .success(.bulk(let value)):
            return .success(value)
        case .success(.null):
            return .success(nil)
        case .success(.error(let message)):
            return .failure(.invalidReply(message))
        case .success:
            return .failure(.invalidReply("GET returned a non-string"))
        case .failure(let error):
            return .failure(.unavailable("\(error)"))
        }
    }

    public func put(key: String, value: [UInt8], ttlSeconds: Int) {
        guard ttlSeconds > 0, value.count <= self.maxEntryBytes else { return }
        let command: [RESPArgument] = [
            .text("SET"), .text(Self.keyPrefix + key), .bytes(value), .text("EX"), .decimal(ttlSeconds),
        ]
        let logger = self.logger
        // The answer has gone to the client already: the store can ride along with the connection's next write.
        self.client.send(command, canWait: true) { result in
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
