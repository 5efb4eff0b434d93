extension RedisRateLimiter {
    /// Sends a round of acquires (`RedisAcquireCoalescer`) as one pipeline: each limited bucket's script call, then
    /// the waiters' companion commands in order; answers every waiter from the replies.
    static func send(_ round: [RedisAcquireCoalescer.Group], on client: RedisClient) {
        var batch = RedisCommandBatch()
        for group in round where !group.limits.isUnlimited {
            batch.append(acquireEvalSHA(bucket: group.bucket, limits: group.limits,
                                        costs: group.waiters.map(\.tokens), nowMicroseconds: nil))
        }
        for group in round {
            for waiter in group.waiters {
                if let companion = waiter.companion { batch.append(companion) }
            }
        }
        // Never empty (`acquire` answers an unlimited ask with nothing sent along at once); were it empty, the
        // pipeline would answer `.success([])`, which `answer` turns into `.unlimited` for every waiter all the same.
        let expected = batch.count
        client.pipeline(batch) { result in
            let replies = result.flatMap { replies in
                replies.count == expected ? .success(replies) : .failure(RedisError.unexpectedReply("pipeline"))
            }
            answer(round, replies: replies, on: client)
        }
    }

    /// Hands each waiter of `round` its decision and its companion's reply.
    private static func answer(
        _ round: [RedisAcquireCoalescer.Group], replies result: Result<[RedisReply], RedisError>,
        on client: RedisClient
    ) {
        let replies: [RedisReply]
        switch result {
        case .success(let received):
            replies = received
        case .failure(let error):
            let decision = Result<RateLimitDecision, RateLimitError>.failure(rateLimitError(error))
            for group in round {
                for waiter in group.waiters {
                    waiter.completion(decision, waiter.companion.map { _ in .failure(error) })
                }
            }
            return
        }
        var scriptReply = 0
        var companionReply = round.reduce(0) { $0 + ($1.limits.isUnlimited ? 0 : 1) }
        for group in round {
            let firstCompanion = companionReply
            companionReply += group.waiters.reduce(0) { $0 + ($1.companion == nil ? 0 : 1) }
            guard !group.limits.isUnlimited else {
                answer(group, Array(repeating: .success(.unlimited), count: group.waiters.count), replies,
                       firstCompanion: firstCompanion)
                continue
            }
            let reply = replies[scriptReply]
            scriptReply += 1
            guard !reply.isNoScript else {
                // Redis lost the script (restart, failover, SCRIPT FLUSH): the single call reloads it and retries.
                acquire(on: client, bucket: group.bucket, limits: group.limits, costs: group.waiters.map(\.tokens),
                        nowMicroseconds: nil) { decisions in
                    answer(group, decisions, replies, firstCompanion: firstCompanion)
                }
                continue
            }
            answer(group, decisions(from: .success(reply), limits: group.limits, count: group.waiters.count), replies,
                   firstCompanion: firstCompanion)
        }
    }

    /// Hands each waiter of `group` its decision and, if it sent a companion, that reply (the group's companions'
    /// replies start at `replies[firstCompanion]`).
    private static func answer(
        _ group: RedisAcquireCoalescer.Group, _ decisions: [Result<RateLimitDecision, RateLimitError>],
        _ replies: [RedisReply], firstCompanion: Int
    ) {
        var companion = firstCompanion
        for (index, waiter) in group.waiters.enumerated() {
            var along: Result<RedisReply, RedisError>?
            if waiter.companion != nil {
                along = .success(replies[companion])
                companion += 1
            }
            waiter.completion(decisions[index], along)
        }
    }
}
