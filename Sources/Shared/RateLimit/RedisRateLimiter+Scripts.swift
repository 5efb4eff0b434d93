extension RedisRateLimiter {
    /// Lua helpers shared by both scripts; the arithmetic mirrors `GCRA` step by step.
    private static let prelude = """
        -- Integer microseconds throughout. Lua numbers are doubles, exact below 2^53.
        local function muldiv(a, b, c)
          -- floor(a * b / c), corrected for the rounding of the floating-point division
          local p = a * b
          local q = math.floor(p / c)
          if q * c > p then q = q - 1 elseif (q + 1) * c <= p then q = q + 1 end
          return q
        end

        local function now_us(override)
          if override ~= '' then return tonumber(override) end
          -- Server time, so replicas with skewed clocks agree on every bucket.
          local t = redis.call('TIME')
          return tonumber(t[1]) * 1000000 + tonumber(t[2])
        end

        local function load_tat(key, now)
          local stored = tonumber(redis.call('GET', key))
          if stored and stored > now then return stored end
          return now
        end

        local function store_tat(key, tat, now)
          if tat > now then
            -- The key outlives the moment the bucket is full again by 1 s; once gone it reads as full.
            redis.call('SET', key, string.format('%d', tat), 'PX', math.ceil((tat - now) / 1000) + 1000)
          else
            redis.call('DEL', key)
          end
        end

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

            local function check(key, limit, cost)
              if limit <= 0 then return nil end
              local current = load_tat(key, now)
              local increment = 0
              if cost > 0 then increment = muldiv(cost, period, limit) end
              -- A cost above the whole limit fits exactly when the bucket is full (admit-when-full).
              local capacity = period
              if increment > capacity then capacity = increment end
              local ahead = current + increment - now
              local retry = 0
              if ahead > capacity then retry = ahead - capacity end
              return {key = key, limit = limit, current = current, charged = current + increment,
                      fits = ahead <= capacity, retry = retry}
            end

            local req = check(KEYS[1], tonumber(ARGV[1]), 1)
            local tok = check(KEYS[2], tonumber(ARGV[2]), math.max(0, tonumber(ARGV[3])))
            local allowed = (req == nil or req.fits) and (tok == nil or tok.fits)

            local function report(d)
              if d == nil then return 0, 0 end
              local tat = d.current
              if allowed then
                tat = d.charged
                if tat > now then store_tat(d.key, tat, now) end
              end
              local remaining = 0
              local available = period - (tat - now)
              if available > 0 then remaining = math.min(muldiv(available, d.limit, period), d.limit) end
              return remaining, tat - now
            end

            local req_remaining, req_reset = report(req)
            local tok_remaining, tok_reset = report(tok)
            local retry = 0
            if not allowed then
              if req then retry = math.max(retry, req.retry) end
              if tok then retry = math.max(retry, tok.retry) end
            end
            return {allowed and 1 or 0, req_remaining, req_reset, tok_remaining, tok_reset, retry}
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
            local tat = load_tat(KEYS[1], now) + moved
            if tat < now then tat = now end
            store_tat(KEYS[1], tat, now)
            return tat - now
            """
    )
}
