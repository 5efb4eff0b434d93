/// Commands for one connection together with the callback that receives their replies.
struct RedisPendingCommand: Sendable {
    /// Each element is one command's argument vector; one element for `send`, several for `pipeline`.
    let commands: [[[UInt8]]]
    let completion: @Sendable (Result<[RedisReply], RedisError>) -> Void

    var commandCount: Int { self.commands.count }

    func fail(_ error: RedisError) {
        self.completion(.failure(error))
    }
}
