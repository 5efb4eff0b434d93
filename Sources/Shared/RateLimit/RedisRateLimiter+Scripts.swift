extension RedisRateLimiter {
    /// Lua helpers shared by both scripts; the arithmetic mirrors `GCRA` step by step.
    ///
    /// The scripts run in redis-server for every request, on the same cores as the gateway where Redis is local, so
    /// they are written flat: no table or closure is made per call beyond these two functions (a first version that
    /// built a table per dimension and a closure per step cost redis-server about 88,000 instructions per acquire,
    /// this one about 75,000; see BENCHMARKS.md). That is also why the acquire script spells out its two dimensions
    /// rather than sharing a helper for them: a version with helpers cost about 80,000.
    private static let prelude = """
        -- Integer microseconds throughout. Lua numbers are doubles, exact below 2^53.
        local floor = math.floor
        local function muldiv(a, b, c)
          -- floor(a * b / c), corrected for the rounding of the floating-point division
          local p = a * b
          local q = floor(p / c)
          if q * c > p then q = q - 1 elseif (q + 1) * c <= p then q = q + 1 end
          return q
        end

        local function now_us(override)
          if override ~= '' then return tonumber(override) end
          -- Server time, so replicas with skewed clocks agree on every bucket.
          local t = redis.call('TIME')
          return tonumber(t[1]) * 1000000 + tonumber(t[2])
        end

        -- A stored TAT in the past, or none, reads as now. A TAT ahead of now is stored with a PX expiry; once the
        -- key is gone (1 s after the bucket is full again) it reads as full.

        """

    /// One atomic GCRA step over both dimensions; see `RateLimitBucket.acquire`.
    ///
    /// KEYS: request TAT key, token TAT key.
    /// ARGV: requests/min, tokens/min (0 = unlimited), token cost, period µs, now µs or '' (server TIME).
    /// Returns {allowed, requests remaining, requests reset µs, tokens remaining, tokens reset µs, retry-after µs}.
    static let acquireScript = RedisScript(
        RedisRateLimiter.prelude + """
            if redis.replicate_commands then redis.replicate_commands() end
            local period = tonumber(ARGV[4])
            local now = now_us(ARGV[5])
            local rlimit = tonumber(ARGV[1])
            local tlimit = tonumber(ARGV[2])

            -- Each limited dimension: its TAT now, its increment, whether the cost fits, and the wait when not.
            -- A cost above the whole limit fits exactly when the bucket is full (admit-when-full).
            local rtat, rinc, rfits, rretry = now, 0, true, 0
            if rlimit > 0 then
              local stored = tonumber(redis.call('GET', KEYS[1]))
              if stored and stored > now then rtat = stored end
              rinc = muldiv(1, period, rlimit)
              local capacity = period
              if rinc > capacity then capacity = rinc end
              local ahead = rtat + rinc - now
              if ahead > capacity then rfits = false; rretry = ahead - capacity end
            end
            local ttat, tinc, tfits, tretry = now, 0, true, 0
            if tlimit > 0 then
              local stored = tonumber(redis.call('GET', KEYS[2]))
              if stored and stored > now then ttat = stored end
              local cost = tonumber(ARGV[3])
              if cost > 0 then tinc = muldiv(cost, period, tlimit) end
              local capacity = period
              if tinc > capacity then capacity = tinc end
              local ahead = ttat + tinc - now
              if ahead > capacity then tfits = false; tretry = ahead - capacity end
            end
            local allowed = rfits and tfits

            -- Charge both when allowed, and report what is left of each.
            local rremaining, rreset, tremaining, treset = 0, 0, 0, 0
            if rlimit > 0 then
              if allowed then
                rtat = rtat + rinc
                if rtat > now then
                  redis.call('SET', KEYS[1], string.format('%d', rtat), 'PX', math.ceil((rtat - now) / 1000) + 1000)
                end
              end
              local available = period - (rtat - now)
              if available > 0 then
                rremaining = muldiv(available, rlimit, period)
                if rremaining > rlimit then rremaining = rlimit end
              end
              rreset = rtat - now
            end
            if tlimit > 0 then
              if allowed then
                ttat = ttat + tinc
                if ttat > now then
                  redis.call('SET', KEYS[2], string.format('%d', ttat), 'PX', math.ceil((ttat - now) / 1000) + 1000)
                end
              end
              local available = period - (ttat - now)
              if available > 0 then
                tremaining = muldiv(available, tlimit, period)
                if tremaining > tlimit then tremaining = tlimit end
              end
              treset = ttat - now
            end
            local retry = 0
            if not allowed then
              retry = rretry
              if tretry > retry then retry = tretry end
            end
            return {allowed and 1 or 0, rremaining, rreset, tremaining, treset, retry}
            """
    )

    /// Moves the token TAT by a signed token delta, never before now; see `GCRA.corrected`.
    ///
    /// KEYS: token TAT key. ARGV: tokens/min, signed delta, period µs, now µs or ''.
    /// Returns the token TAT's distance from now in µs.
    static let correctScript = RedisScript(
        RedisRateLimiter.prelude + """
            if redis.replicate_commands then redis.replicate_commands() end
            local limit = tonumber(ARGV[1])
            local delta = tonumber(ARGV[2])
            if limit <= 0 or delta == 0 then return 0 end
            local period = tonumber(ARGV[3])
            local now = now_us(ARGV[4])
            local moved = muldiv(math.abs(delta), period, limit)
            if delta < 0 then moved = -moved end
            local tat = now
            local stored = tonumber(redis.call('GET', KEYS[1]))
            if stored and stored > now then tat = stored end
            tat = tat + moved
            if tat > now then
              redis.call('SET', KEYS[1], string.format('%d', tat), 'PX', math.ceil((tat - now) / 1000) + 1000)
              return tat - now
            end
            redis.call('DEL', KEYS[1])
            return 0
            """
    )
}
