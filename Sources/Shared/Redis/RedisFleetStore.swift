/// Node snapshots for the fleet view: each master publishes its totals under its own key with a TTL, and its name
/// in one sorted set, the index a reader walks.
///
/// Reading the fleet costs Redis two commands whatever else the database holds. An earlier version found the node
/// keys with `SCAN MATCH cgw:node:*`, which walks the whole keyspace: with the response cache's keys in the same
/// database (200,000 after a benchmark) each master's read every five seconds cost redis-server 120 ms, 3 % of a core
/// per master, and a fleet of replicas multiplies it.
public struct RedisFleetStore: Sendable {
    /// Prefix of every node key; the instance name follows it.
    public static let keyPrefix = "cgw:node:"
    /// The index: every node that published lately, scored by the Unix time (seconds, the publisher's clock) of its
    /// last publication. The node keys' TTLs, on Redis's clock, decide who is live; the index only lists names.
    public static let indexKey = "cgw:nodes"

    private let client: RedisClient
    /// A name not published again for this long leaves the index (its key expired long before). Generous, so a
    /// publisher whose clock is ahead of another's is never dropped by that one's clean-up.
    private let forgetAfterSeconds: Int
    private let now: @Sendable () -> Int

    /// Creates a store on `client`; `now` gives the Unix time in seconds (injectable for tests).
    public init(
        client: RedisClient,
        forgetAfterSeconds: Int = 600,
        now: @escaping @Sendable () -> Int = { WallClock.nowPrecise().seconds }
    ) {
        self.client = client
        self.forgetAfterSeconds = max(1, forgetAfterSeconds)
        self.now = now
    }

    /// Stores `payload` as `cgw:node:<instance>`, expiring after `ttlSeconds` unless published again, lists the name
    /// in the index and drops the names not published for `forgetAfterSeconds`: one pipeline.
    public func publish(
        instance: String,
        payload: [UInt8],
        ttlSeconds: Int,
        completion: (@Sendable (Result<Void, RedisError>) -> Void)? = nil
    ) {
        let now = self.now()
        let name = Array(instance.utf8)
        let commands: [[[UInt8]]] = [
            [Array("SET".utf8), Array((Self.keyPrefix + instance).utf8), payload,
             Array("EX".utf8), Array(String(max(1, ttlSeconds)).utf8)],
            [Array("ZADD".utf8), Array(Self.indexKey.utf8), Array(String(now).utf8), name],
            [Array("ZREMRANGEBYSCORE".utf8), Array(Self.indexKey.utf8), Array("-inf".utf8),
             Array("(\(now - self.forgetAfterSeconds)".utf8)],
        ]
        self.client.pipeline(commands) { result in
            completion?(
                result.flatMap { replies in
                    if let message = replies.lazy.compactMap(\.errorMessage).first { return .failure(.server(message)) }
                    return .success(())
                }
            )
        }
    }

    /// Every live node snapshot, sorted by instance name: the index's names (`ZRANGE`), then their keys (`MGET`);
    /// a listed node whose key has expired is gone.
    public func fetchAll(
        completion: @escaping @Sendable (Result<[(instance: String, payload: [UInt8])], RedisError>) -> Void
    ) {
        self.client.send(["ZRANGE", Self.indexKey, "0", "-1"]) { result in
            switch result {
            case .failure(let error):
                completion(.failure(error))
            case .success(.array(let members)):
                let names = members.compactMap(\.string).sorted()  // a sorted set holds each name once
                self.fetch(names: names, completion: completion)
            case .success(let reply):
                completion(.failure(Self.unexpected(reply, "ZRANGE")))
            }
        }
    }

    private func fetch(
        names: [String],
        completion: @escaping @Sendable (Result<[(instance: String, payload: [UInt8])], RedisError>) -> Void
    ) {
        guard !names.isEmpty else {
            completion(.success([]))
            return
        }
        self.client.send(["MGET"] + names.map { Self.keyPrefix + $0 }) { result in
            switch result {
            case .failure(let error):
                completion(.failure(error))
            case .success(.array(let values)) where values.count == names.count:
                var nodes = [(instance: String, payload: [UInt8])]()
                for (name, value) in zip(names, values) {
                    // Listed but expired: the node stopped publishing.
                    guard case .bulk(let payload) = value else { continue }
                    nodes.append((name, payload))
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
