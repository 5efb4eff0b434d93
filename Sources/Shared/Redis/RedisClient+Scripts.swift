extension RedisClient {
    /// Makes sure `script` is loaded on every (re)connect, and loads it now if it is new.
    public func register(_ script: RedisScript) {
        guard self.registerScript(script) else { return }
        // Best effort: a connection that is down loads it when it reconnects.
        self.broadcast(script.loadCommand)
    }

    /// Runs `script` with `EVALSHA`; on `NOSCRIPT` loads it and retries once.
    ///
    /// The script is registered, so it is loaded again after a reconnect or a `SCRIPT FLUSH` is repaired
    /// on first use. An error raised by the script arrives as `.success(.error(…))`. `canWait`: no request waits
    /// for the reply, so the call may leave with the connection's next write (see `send`).
    public func evalScript(
        _ script: RedisScript,
        keys: [String],
        args: [String],
        canWait: Bool = false,
        completion: @escaping @Sendable (Result<RedisReply, RedisError>) -> Void
    ) {
        self.evalScript(script, evalSHA: Self.evalSHACommand(script, keys: keys.map { .text($0) },
                                                             args: args.map { .text($0) }),
                        canWait: canWait, completion: completion)
    }

    /// `evalScript` with the `EVALSHA` already made by `evalSHACommand`.
    public func evalScript(
        _ script: RedisScript,
        evalSHA: [RESPArgument],
        canWait: Bool = false,
        completion: @escaping @Sendable (Result<RedisReply, RedisError>) -> Void
    ) {
        self.register(script)
        var batch = RedisCommandBatch()
        batch.append(evalSHA)
        self.enqueue(
            RedisPendingCommand(batch, canWait: canWait) { [self] result in
                guard case .success(let replies) = result, let reply = replies.first else {
                    completion(result.flatMap { _ in .failure(.unexpectedReply("no reply")) })
                    return
                }
                guard reply.isNoScript else {
                    completion(.success(reply))
                    return
                }
                // Redis lost the script (restart, failover, SCRIPT FLUSH): load it and retry in one
                // round trip; the retry's own NOSCRIPT, if any, is returned as is.
                var retry = RedisCommandBatch(capacity: script.source.utf8.count + 256)
                retry.append(script.loadCommand)
                retry.append(evalSHA)
                self.enqueue(
                    RedisPendingCommand(retry) { retried in
                        completion(
                            retried.flatMap { replies in
                                guard replies.count == 2 else { return .failure(.unexpectedReply("pipeline")) }
                                // A script that does not compile fails SCRIPT LOAD; report that error.
                                if case .error = replies[0] { return .success(replies[0]) }
                                return .success(replies[1])
                            }
                        )
                    }
                )
            }
        )
    }

    /// The `EVALSHA` command for `script`, for `evalScript(_:evalSHA:completion:)` and for callers that pipeline it
    /// with other commands (`RedisCommandBatch`). The script must be registered (see `register`); a `NOSCRIPT` reply
    /// (`RedisReply.isNoScript`) means Redis lost it since, and `evalScript` repairs that.
    public static func evalSHACommand(_ script: RedisScript, keys: [RESPArgument], args: [RESPArgument])
        -> [RESPArgument]
    {
        var command: [RESPArgument] = []
        command.reserveCapacity(3 + keys.count + args.count)
        command.append(.bytes(evalSHAName))
        command.append(.bytes(script.sha1Bytes))
        command.append(.decimal(keys.count))
        command.append(contentsOf: keys)
        command.append(contentsOf: args)
        return command
    }

    private static let evalSHAName = Array("EVALSHA".utf8)
}
