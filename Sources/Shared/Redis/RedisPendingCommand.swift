/// Commands for one connection together with the callback that receives their replies.
struct RedisPendingCommand: Sendable {
    /// One command for `send`, several for `pipeline`.
    let batch: RedisCommandBatch
    let completion: @Sendable (Result<[RedisReply], RedisError>) -> Void

    init(_ batch: RedisCommandBatch, completion: @escaping @Sendable (Result<[RedisReply], RedisError>) -> Void) {
        self.batch = batch
        self.completion = completion
    }

    /// Each element of `commands` is one command's argument vector.
    init(commands: [[[UInt8]]], completion: @escaping @Sendable (Result<[RedisReply], RedisError>) -> Void) {
        self.init(RedisCommandBatch(commands), completion: completion)
    }

    var commandCount: Int { self.batch.count }

    func fail(_ error: RedisError) {
        self.completion(.failure(error))
    }
}
