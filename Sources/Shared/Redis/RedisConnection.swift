import CHiredis

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One blocking hiredis connection, used only by the client thread that created it.
///
/// Not `Sendable` on purpose: a `redisContext` must never be touched by two threads.
final class RedisConnection {
    /// At most this many commands are written before their replies are read, so one huge backlog
    /// does not build an unbounded output buffer.
    static let maxCommandsPerRound = 512

    private let context: UnsafeMutablePointer<redisContext>
    private let timeoutMilliseconds: Int

    private init(context: UnsafeMutablePointer<redisContext>, timeoutMilliseconds: Int) {
        self.context = context
        self.timeoutMilliseconds = timeoutMilliseconds
    }

    deinit {
        redisFree(self.context)
    }

    /// Connects, authenticates, selects the database and loads `scripts`.
    static func connect(
        to url: RedisURL,
        timeoutMilliseconds: Int,
        scripts: [RedisScript]
    ) -> Result<RedisConnection, RedisError> {
        let timeout = timeval(
            tv_sec: timeoutMilliseconds / 1000,
            tv_usec: .init((timeoutMilliseconds % 1000) * 1000)
        )
        guard let context = redisConnectWithTimeout(url.host, Int32(url.port), timeout) else {
            return .failure(.unavailable("cannot allocate a redis context"))
        }
        guard context.pointee.err == 0 else {
            let reason = Self.errorString(context)
            redisFree(context)
            return .failure(.unavailable("connect failed: \(reason)"))
        }
        // From here on `connection` owns the context and frees it on every exit path.
        let connection = RedisConnection(context: context, timeoutMilliseconds: timeoutMilliseconds)
        guard redisSetTimeout(context, timeout) == REDIS_OK else {
            return .failure(.unavailable("cannot set socket timeout: \(Self.errorString(context))"))
        }
        // Keepalive lets an idle connection notice a vanished peer even without traffic.
        _ = redisEnableKeepAlive(context)

        var setup = [[[UInt8]]]()
        if let password = url.password {
            if let username = url.username {
                setup.append([Array("AUTH".utf8), Array(username.utf8), Array(password.utf8)])
            } else {
                setup.append([Array("AUTH".utf8), Array(password.utf8)])
            }
        }
        if url.database != 0 {
            setup.append([Array("SELECT".utf8), Array(String(url.database).utf8)])
        }
        for script in scripts {
            setup.append([Array("SCRIPT".utf8), Array("LOAD".utf8), Array(script.source.utf8)])
        }
        guard !setup.isEmpty else { return .success(connection) }

        switch connection.roundTrip(setup) {
        case .failure(let error):
            return .failure(error)
        case .success(let replies):
            // AUTH and SELECT must succeed; a script that fails to load is reported by `evalScript`
            // when its EVALSHA retry hits the same error, so it does not make Redis unusable.
            for (command, reply) in zip(setup, replies) {
                guard case .error(let message) = reply, let verb = command.first, verb != Array("SCRIPT".utf8) else {
                    continue
                }
                // Name the command, never its arguments: they hold the password.
                return .failure(.unavailable("\(String(decoding: verb, as: UTF8.self)) rejected: \(message)"))
            }
            return .success(connection)
        }
    }

    /// Writes every command of `batch`, then reads the replies and calls each completion.
    ///
    /// Returns the reason when the connection broke; the commands not answered by then have been
    /// failed with `.unavailable`, and the count of them is returned too.
    func execute(_ batch: [RedisPendingCommand]) -> (reason: String, failedCommands: Int)? {
        var start = 0
        while start < batch.count {
            var end = start
            var commands = 0
            repeat {
                commands += batch[end].commandCount
                end += 1
            } while end < batch.count && commands + batch[end].commandCount <= Self.maxCommandsPerRound

            if let broken = self.executeRound(batch[start..<end]) {
                var failed = broken.failedCommands
                for item in batch[end...] {
                    item.fail(.unavailable(broken.reason))
                    failed += item.commandCount
                }
                return (broken.reason, failed)
            }
            start = end
        }
        return nil
    }

    /// Sends commands and waits for all their replies (used during connection setup and health checks).
    func roundTrip(_ commands: [[[UInt8]]]) -> Result<[RedisReply], RedisError> {
        for command in commands {
            guard self.append(command) else {
                return .failure(.unavailable(self.failureReason()))
            }
        }
        var replies = [RedisReply]()
        replies.reserveCapacity(commands.count)
        for _ in commands {
            guard let reply = self.readReply() else {
                return .failure(.unavailable(self.failureReason()))
            }
            replies.append(reply)
        }
        return .success(replies)
    }

    // MARK: - hiredis calls

    private func executeRound(_ items: ArraySlice<RedisPendingCommand>) -> (reason: String, failedCommands: Int)? {
        for item in items {
            for command in item.commands where !self.append(command) {
                return self.failAll(items, from: items.startIndex)
            }
        }
        for index in items.indices {
            let item = items[index]
            var replies = [RedisReply]()
            replies.reserveCapacity(item.commandCount)
            for _ in 0..<item.commandCount {
                guard let reply = self.readReply() else {
                    return self.failAll(items, from: index)
                }
                replies.append(reply)
            }
            item.completion(.success(replies))
        }
        return nil
    }

    private func failAll(
        _ items: ArraySlice<RedisPendingCommand>,
        from index: Int
    ) -> (reason: String, failedCommands: Int) {
        let reason = self.failureReason()
        var failed = 0
        for item in items[index...] {
            item.fail(.unavailable(reason))
            failed += item.commandCount
        }
        return (reason, failed)
    }

    private func append(_ arguments: [[UInt8]]) -> Bool {
        let total = arguments.reduce(0) { $0 + $1.count }
        // One buffer for all arguments: hiredis copies them into its output buffer during the call.
        let storage = UnsafeMutableRawBufferPointer.allocate(byteCount: max(total, 1), alignment: 1)
        defer { storage.deallocate() }
        guard let base = storage.baseAddress else { return false }
        var pointers = [UnsafePointer<CChar>?]()
        var lengths = [Int]()
        pointers.reserveCapacity(arguments.count)
        lengths.reserveCapacity(arguments.count)
        var offset = 0
        for argument in arguments {
            let destination = UnsafeMutableRawBufferPointer(rebasing: storage[offset..<(offset + argument.count)])
            destination.copyBytes(from: argument)
            pointers.append(UnsafePointer((base + offset).assumingMemoryBound(to: CChar.self)))
            lengths.append(argument.count)
            offset += argument.count
        }
        return redisAppendCommandArgv(self.context, Int32(arguments.count), &pointers, lengths) == REDIS_OK
    }

    private func readReply() -> RedisReply? {
        var raw: UnsafeMutableRawPointer?
        guard redisGetReply(self.context, &raw) == REDIS_OK, let raw else {
            return nil
        }
        defer { freeReplyObject(raw) }
        return RedisReply(copying: raw.assumingMemoryBound(to: redisReply.self))
    }

    private func failureReason() -> String {
        let savedErrno = errno
        if self.context.pointee.err == REDIS_ERR_IO && (savedErrno == EAGAIN || savedErrno == EWOULDBLOCK) {
            return "no reply within \(self.timeoutMilliseconds) ms"
        }
        if self.context.pointee.err == REDIS_ERR_EOF {
            return "connection closed by server"
        }
        return Self.errorString(self.context)
    }

    private static func errorString(_ context: UnsafeMutablePointer<redisContext>) -> String {
        withUnsafeBytes(of: context.pointee.errstr) { raw in
            let bytes = raw.prefix { $0 != 0 }
            return String(decoding: bytes, as: UTF8.self)
        }
    }
}
