--[[ sliding-window-log (swl): exact. Admit iff units in (now - window, now] + cost <= limit.
KEYS  [1] the log: sorted set, score = time (µs), member = "<time>:<sequence>"
      [2] the sequence (INCRBY), so members stay unique within one microsecond
State expires window + grace after the newest unit. Twin: src/core/algorithms/sliding-window-log.ts ]]

algorithms['swl'] = {
  keys = 2,

  evaluate = function(keys, check, now)
    local log = keys[1]
    -- Units recorded at t <= now - window have left the window.
    redis.call('ZREMRANGEBYSCORE', log, '-inf', int(now - check.window))
    local count = redis.call('ZCARD', log)
    local reset = 0
    if count > 0 then
      local newest = redis.call('ZRANGE', log, -1, -1, 'WITHSCORES')
      reset = tonumber(newest[2]) + check.window - now
    end
    if count + check.cost <= check.limit then
      if check.cost == 0 then return fits(count, reset, count, reset) end
      return fits(count, reset, count + check.cost, check.window)
    end
    -- The cost fits once the (count + cost - limit)-th oldest unit has left the window.
    local must_leave = count + check.cost - check.limit
    local entry = redis.call('ZRANGE', log, must_leave - 1, must_leave - 1, 'WITHSCORES')
    return denied(tonumber(entry[2]) + check.window - now, count, reset)
  end,

  record = function(keys, check, now)
    local log, sequence_key = keys[1], keys[2]
    local last = redis.call('INCRBY', sequence_key, check.cost)
    local stamp = int(now)
    -- ZADD in chunks: unpack() of a very large table overflows the Lua stack.
    local chunk = {}
    for sequence = last - check.cost + 1, last do
      chunk[#chunk + 1] = stamp
      chunk[#chunk + 1] = stamp .. ':' .. int(sequence)
      if #chunk >= 1000 then
        redis.call('ZADD', log, unpack(chunk))
        chunk = {}
      end
    end
    if #chunk > 0 then redis.call('ZADD', log, unpack(chunk)) end
    pexpire_us(log, check.window, check.grace)
    pexpire_us(sequence_key, check.window, check.grace)
  end,
}
