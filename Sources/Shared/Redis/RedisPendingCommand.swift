/// Commands for one connection together with the callback that receives their replies.
struct RedisPendingCommand: Sendable {
    /// One command for `send`, several for `pipeline`.
    let batch: RedisCommandBatch
    let completion: @Sendable (Result<[RedisReply], RedisError>) -> Void
    /// No request waits for the reply (a cache store): the command may leave with the connection's next write
    /// instead of a write of its own (see `RedisClient.send`).
    let canWait: Bool

    init(_ batch: RedisCommandBatch, canWait: Bool = false,
         completion: @escaping @Sendable (Result<[RedisReply], RedisError>) -> Void) {
        self.batch = batch
        self.canWait = canWait
        self.completion = completion
    }

    /// Each element of `commands` is one command's argument vector.
    init(commands: [[[UInt8]]], canWait: Bool = false,
         completion: @escaping @Sendable (Result<[RedisReply], RedisError>) -> Void) {
        self.init(RedisCommandBatch(commands), canWait: canWait, completion: completion)
    }

    var commandCount: Int { self.batch.count }

    func fail(_ error: RedisError) {
        self.completion(.failure(error))
    }
}
