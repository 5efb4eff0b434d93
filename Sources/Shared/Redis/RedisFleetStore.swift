/// Node snapshots for the fleet view: each master publishes its totals under its own key with a TTL.
public struct RedisFleetStore: Sendable {
    /// Prefix of every node key; the instance name follows it.
    public static let keyPrefix = "cgw:node:"

    private let client: RedisClient
    /// Keys asked for per SCAN step; SCAN is incremental so a large keyspace never blocks Redis.
    private let scanCount: Int

    /// Creates a store on `client`.
    public init(client: RedisClient, scanCount: Int = 500) {
        self.client = client
        self.scanCount = max(1, scanCount)
    }

    /// Stores `payload` as `cgw:node:<instance>`, expiring after `ttlSeconds` unless published again.
    public func publish(
        instance: String,
        payload: [UInt8],
        ttlSeconds: Int,
        completion: (@Sendable (Result<Void, RedisError>) -> Void)? = nil
    ) {
        let command: [[UInt8]] = [
            Array("SET".utf8), Array((Self.keyPrefix + instance).utf8), payload,
            Array("EX".utf8), Array(String(max(1, ttlSeconds)).utf8),
        ]
        self.client.send(command) { result in
            completion?(
                result.flatMap { reply in
                    if let message = reply.errorMessage { return .failure(.server(message)) }
                    return .success(())
                }
            )
        }
    }

    /// Every live node snapshot, sorted by instance name: `SCAN MATCH cgw:node:*` then one `MGET`.
    public func fetchAll(
        completion: @escaping @Sendable (Result<[(instance: String, payload: [UInt8])], RedisError>) -> Void
    ) {
        self.scan(cursor: "0", found: [], completion: completion)
    }

    private func scan(
        cursor: String,
        found: Set<String>,
        completion: @escaping @Sendable (Result<[(instance: String, payload: [UInt8])], RedisError>) -> Void
    ) {
        let command = ["SCAN", cursor, "MATCH", Self.keyPrefix + "*", "COUNT", String(self.scanCount)]
        self.client.send(command) { result in
            switch result {
            case .failure(let error):
                completion(.failure(error))
            case .success(let reply):
                guard case .array(let parts) = reply, parts.count == 2,
                    let next = parts[0].string, case .array(let keys) = parts[1]
                else {
                    completion(.failure(Self.unexpected(reply, "SCAN")))
                    return
                }
                // SCAN may return a key more than once; the set removes duplicates.
                var found = found
                for key in keys {
                    if let key = key.string { found.insert(key) }
                }
                if next == "0" {
                    self.fetch(keys: found.sorted(), completion: completion)
                } else {
                    self.scan(cursor: next, found: found, completion: completion)
                }
            }
        }
    }

    private func fetch(
        keys: [String],
        completion: @escaping @Sendable (Result<[(instance: String, payload: [UInt8])], RedisError>) -> Void
    ) {
        guard !keys.isEmpty else {
            completion(.success([]))
            return
        }
        self.client.send(["MGET"] + keys) { result in
            switch result {
            case .failure(let error):
                completion(.failure(error))
            case .success(.array(let values)) where values.count == keys.count:
                var nodes = [(instance: String, payload: [UInt8])]()
                for (key, value) in zip(keys, values) {
                    // A node whose key expired between SCAN and MGET is simply gone.
                    guard case .bulk(let payload) = value else { continue }
                    nodes.append((String(key.dropFirst(Self.keyPrefix.count)), payload))
                }
                completion(.success(nodes))
            case .success(let reply):
                completion(.failure(Self.unexpected(reply, "MGET")))
            }
        }
    }

    private static func unexpected(_ reply: RedisReply, _ command: String) -> RedisError {
        if let message = reply.errorMessage { return .server(message) }
        return .unexpectedReply("\(command) returned \(reply)")
    }
}
