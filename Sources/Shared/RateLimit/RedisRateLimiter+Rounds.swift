extension RedisRateLimiter {
    /// Sends a round of acquires (`RedisAcquireCoalescer`) as one pipeline: each limited bucket's script call (giving
    /// back and asking for leases as the loop's `leases` say), then the waiters' companion commands in order, then
    /// the loose companions; answers every waiter from the replies.
    static func send(_ round: RedisAcquireCoalescer.Round, leases: RateLimitLeaseBook?, on client: RedisClient) {
        let now = LocalRateLimiter.monotonicMicroseconds()
        var batch = RedisCommandBatch()
        var terms: [RateLimitLease.Terms] = []
        terms.reserveCapacity(round.groups.count)
        for group in round.groups where !group.limits.isUnlimited {
            let groupTerms = leases?.terms(bucket: group.bucket, limits: group.limits, now: now) ?? .init()
            terms.append(groupTerms)
            batch.append(acquireEvalSHA(bucket: group.bucket, limits: group.limits, costs: group.waiters.map(\.tokens),
                                        terms: groupTerms, nowMicroseconds: nil))
        }
        for group in round.groups {
            for waiter in group.waiters {
                if let companion = waiter.companion { batch.append(companion) }
            }
        }
        for companion in round.companions { batch.append(companion.command) }
        // Never empty (`acquire` answers an unlimited ask with nothing sent along at once); were it empty, the
        // pipeline would answer `.success([])`, which `answer` turns into `.unlimited` for every waiter all the same.
        let expected = batch.count
        let sentTerms = terms
        client.pipeline(batch) { result in
            let replies = result.flatMap { replies in
                replies.count == expected ? .success(replies) : .failure(RedisError.unexpectedReply("pipeline"))
            }
            answer(round, terms: sentTerms, replies: replies, leases: leases, on: client)
        }
    }

    /// Hands each waiter of `round` its decision and its companion's reply, and the loop's book its leases.
    private static func answer(
        _ round: RedisAcquireCoalescer.Round, terms: [RateLimitLease.Terms],
        replies result: Result<[RedisReply], RedisError>, leases: RateLimitLeaseBook?, on client: RedisClient
    ) {
        let replies: [RedisReply]
        switch result {
        case .success(let received):
            replies = received
        case .failure(let error):
            let decision = Result<RateLimitDecision, RateLimitError>.failure(rateLimitError(error))
            for (group, groupTerms) in zip(round.groups.filter { !$0.limits.isUnlimited }, terms)
            where groupTerms.wantRequests > 0 {
                leases?.granted(bucket: group.bucket, limits: group.limits, nil, now: 0)
            }
            for group in round.groups {
                for waiter in group.waiters {
                    waiter.completion(decision, waiter.companion.map { _ in .failure(error) })
                }
            }
            for companion in round.companions { companion.completion(.failure(error)) }
            return
        }
        var scriptReply = 0
        var companionReply = terms.count
        for group in round.groups {
            let firstCompanion = companionReply
            companionReply += group.waiters.reduce(0) { $0 + ($1.companion == nil ? 0 : 1) }
            guard !group.limits.isUnlimited else {
                answer(group, Array(repeating: .success(.unlimited), count: group.waiters.count), replies,
                       firstCompanion: firstCompanion)
                continue
            }
            let reply = replies[scriptReply]
            let groupTerms = terms[scriptReply]
            scriptReply += 1
            let settle = { @Sendable (grant: RateLimitLease.Grant?) in
                guard groupTerms.wantRequests > 0 else { return }
                leases?.granted(bucket: group.bucket, limits: group.limits, grant,
                                now: LocalRateLimiter.monotonicMicroseconds())
            }
            guard !reply.isNoScript else {
                // Redis lost the script (restart, failover, SCRIPT FLUSH): the single call reloads it and retries.
                acquire(on: client, bucket: group.bucket, limits: group.limits, costs: group.waiters.map(\.tokens),
                        terms: groupTerms, nowMicroseconds: nil) { decisions, grant in
                    settle(grant)
                    answer(group, decisions, replies, firstCompanion: firstCompanion)
                }
                continue
            }
            let (decisions, grant) = decisions(from: .success(reply), limits: group.limits, count: group.waiters.count)
            settle(grant)
            answer(group, decisions, replies, firstCompanion: firstCompanion)
        }
        for companion in round.companions {
            companion.completion(.success(replies[companionReply]))
            companionReply += 1
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
