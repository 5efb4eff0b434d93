extension RedisClient {
    /// Makes sure `script` is loaded on every (re)connect, and loads it now if it is new.
    public func register(_ script: RedisScript) {
        guard self.registerScript(script) else { return }
        // Best effort: a connection that is down loads it when it reconnects.
        self.broadcast([Array("SCRIPT".utf8), Array("LOAD".utf8), Array(script.source.utf8)])
    }

    /// Runs `script` with `EVALSHA`; on `NOSCRIPT` loads it and retries once.
    ///
    /// The script is registered, so it is loaded again after a reconnect or a `SCRIPT FLUSH` is repaired
    /// on first use. An error raised by the script arrives as `.success(.error(…))`.
    public func evalScript(
        _ script: RedisScript,
        keys: [String],
        args: [String],
        completion: @escaping @Sendable (Result<RedisReply, RedisError>) -> Void
    ) {
        self.register(script)
        let evalsha = Self.evalSHACommand(script, keys: keys, args: args)
        self.enqueue(
            RedisPendingCommand(commands: [evalsha]) { [self] result in
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
                let load = [Array("SCRIPT".utf8), Array("LOAD".utf8), Array(script.source.utf8)]
                self.enqueue(
                    RedisPendingCommand(commands: [load, evalsha]) { retried in
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

    /// The `EVALSHA` command for `script`, for callers that pipeline it with other commands. The script must be
    /// registered (see `register`); a `NOSCRIPT` reply (`RedisReply.isNoScript`) means Redis lost it since, and
    /// `evalScript` repairs that.
    public static func evalSHACommand(_ script: RedisScript, keys: [String], args: [String]) -> [[UInt8]] {
        var command: [[UInt8]] = []
        command.reserveCapacity(3 + keys.count + args.count)
        command.append(evalSHAName)
        command.append(script.sha1Bytes)
        command.append(Array(String(keys.count).utf8))
        for key in keys { command.append(Array(key.utf8)) }
        for arg in args { command.append(Array(arg.utf8)) }
        return command
    }

    private static let evalSHAName = Array("EVALSHA".utf8)
}
