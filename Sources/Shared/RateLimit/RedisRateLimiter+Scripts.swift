extension RedisRateLimiter {
    /// Lua helpers shared by both scripts; the arithmetic mirrors `GCRA` step by step.
    ///
    /// The scripts run in redis-server for every request (or every loop round's requests of one bucket), on the same
    /// cores as the gateway where Redis is local, so they are written flat: no table or closure is made per call
    /// beyond these two functions and the reply (a first version that built a table per dimension and a closure per
    /// step cost redis-server about 88,000 instructions per acquire, a flat one about 75,000; see BENCHMARKS.md).
    /// That is also why the acquire script spells out its two dimensions rather than sharing a helper for them: a
    /// version with helpers cost about 80,000.
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

    /// Atomic GCRA steps over both dimensions for one or more requests of one bucket, taken in order as if each
    /// were its own call at the same instant; see `RateLimitBucket.acquire`.
    ///
    /// The requests one worker loop admits in one round of its work share a call (`RedisAcquireCoalescer`): the
    /// script's fixed cost in redis-server (dispatch, `TIME`, the `GET`s and `SET`s) is paid once for all of them.
    ///
    /// The same call hands back what a loop's lease left unused and asks for a new lease (`RateLimitLease`):
    /// the return is applied first, then the requests are decided, then the lease is granted from what is left —
    /// at most `1/RateLimitLease.shareDivisor` of the room left in each dimension, so a bucket near its limit is never
    /// leased and its requests are decided here one by one.
    ///
    /// KEYS: request TAT key, token TAT key.
    /// ARGV: requests/min, tokens/min (0 = unlimited), period µs, now µs or '' (server TIME), lease requests
    /// wanted, lease tokens wanted, leased requests given back, signed token delta (corrections, less leased tokens
    /// given back), then one token cost per request (none for a call that only gives back).
    /// Returns, per request in order: allowed, requests remaining, requests reset µs, tokens remaining, tokens
    /// reset µs, retry-after µs (six integers each, flat); then the lease: requests granted, tokens granted, and
    /// the request and token TATs after it, in µs from now.
    static let acquireScript = RedisScript(
        RedisRateLimiter.prelude + """
            if redis.replicate_commands then redis.replicate_commands() end
            local rlimit = tonumber(ARGV[1])
            local tlimit = tonumber(ARGV[2])
            local period = tonumber(ARGV[3])
            local now = now_us(ARGV[4])
            local lwant = tonumber(ARGV[5])
            local kwant = tonumber(ARGV[6])
            local rback = tonumber(ARGV[7])
            local tdelta = tonumber(ARGV[8])

            -- Each limited dimension's TAT now; a request's increment is fixed, so is its capacity (a cost above
            -- the whole limit fits exactly when the bucket is full: admit-when-full).
            local rtat, rinc, rcapacity, rstored = now, 0, period, nil
            if rlimit > 0 then
              rstored = tonumber(redis.call('GET', KEYS[1]))
              if rstored and rstored > now then rtat = rstored end
              rinc = muldiv(1, period, rlimit)
              if rinc > rcapacity then rcapacity = rinc end
            end
            local ttat, tstored = now, nil
            if tlimit > 0 then
              tstored = tonumber(redis.call('GET', KEYS[2]))
              if tstored and tstored > now then ttat = tstored end
            end

            -- What a lease left unused, and the corrections gathered with it, first; never before now.
            local rchanged, tchanged = false, false
            if rlimit > 0 and rback > 0 then
              rtat = rtat - rback * rinc
              if rtat < now then rtat = now end
              rchanged = true
            end
            if tlimit > 0 and tdelta ~= 0 then
              local moved = muldiv(math.abs(tdelta), period, tlimit)
              if tdelta < 0 then moved = -moved end
              ttat = ttat + moved
              if ttat < now then ttat = now end
              tchanged = true
            end

            local out, n = {}, 0
            for i = 9, #ARGV do
              -- Whether the request fits each dimension, and the wait when not.
              local rfits, rretry = true, 0
              if rlimit > 0 then
                local ahead = rtat + rinc - now
                if ahead > rcapacity then rfits = false; rretry = ahead - rcapacity end
              end
              local tinc, tfits, tretry = 0, true, 0
              if tlimit > 0 then
                local cost = tonumber(ARGV[i])
                if cost > 0 then tinc = muldiv(cost, period, tlimit) end
                local capacity = period
                if tinc > capacity then capacity = tinc end
                local ahead = ttat + tinc - now
                if ahead > capacity then tfits = false; tretry = ahead - capacity end
              end
              local allowed = rfits and tfits
              if allowed then
                if rlimit > 0 then rchanged = true end
                if tlimit > 0 then tchanged = true end
              end

              -- Charge both when allowed, and report what is left of each.
              local rremaining, rreset, tremaining, treset = 0, 0, 0, 0
              if rlimit > 0 then
                if allowed then rtat = rtat + rinc end
                local available = period - (rtat - now)
                if available > 0 then
                  rremaining = muldiv(available, rlimit, period)
                  if rremaining > rlimit then rremaining = rlimit end
                end
                rreset = rtat - now
              end
              if tlimit > 0 then
                if allowed then ttat = ttat + tinc end
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
              out[n + 1] = allowed and 1 or 0
              out[n + 2] = rremaining
              out[n + 3] = rreset
              out[n + 4] = tremaining
              out[n + 5] = treset
              out[n + 6] = retry
              n = n + 6
            end

            -- The lease, from the room left: a whole number of requests (each its own increment, so a return gives
            -- back exactly what was charged) and of tokens, each at most a share of its dimension's room.
            local lgrant, kgrant = 0, 0
            if lwant > 0 then
              lgrant = lwant
              if rlimit > 0 and rinc > 0 then
                local room = rcapacity - (rtat - now)
                local share = 0
                if room > 0 then share = floor(floor(room / rinc) / \(RateLimitLease.shareDivisor)) end
                if share < lgrant then lgrant = share end
              end
              if tlimit > 0 and kwant > 0 and lgrant > 0 then
                local room = period - (ttat - now)
                if room > 0 then kgrant = floor(muldiv(room, tlimit, period) / \(RateLimitLease.shareDivisor)) end
                if kgrant > kwant then kgrant = kwant end
                if kgrant < 1 then lgrant, kgrant = 0, 0 end
              end
              if lgrant > 0 then
                if rlimit > 0 then rtat = rtat + lgrant * rinc; rchanged = true end
                if kgrant > 0 then ttat = ttat + muldiv(kgrant, period, tlimit); tchanged = true end
              end
            end
            out[n + 1] = lgrant
            out[n + 2] = kgrant
            out[n + 3] = rtat - now
            out[n + 4] = ttat - now

            -- The TATs once everything is charged, stored once; one back at now is a full bucket.
            if rchanged then
              if rtat > now then
                redis.call('SET', KEYS[1], string.format('%d', rtat), 'PX', math.ceil((rtat - now) / 1000) + 1000)
              elseif rstored and rstored > now then
                redis.call('DEL', KEYS[1])
              end
            end
            if tchanged then
              if ttat > now then
                redis.call('SET', KEYS[2], string.format('%d', ttat), 'PX', math.ceil((ttat - now) / 1000) + 1000)
              elseif tstored and tstored > now then
                redis.call('DEL', KEYS[2])
              end
            end
            return out
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
