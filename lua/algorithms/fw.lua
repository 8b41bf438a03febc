--[[ fixed-window (fw): windows aligned to multiples of the window since the Unix epoch.
KEYS  [1] hash { s = window start (µs), c = units recorded in that window }
State expires at the window's end + grace. Twin: src/core/algorithms/fixed-window.ts ]]

algorithms['fw'] = {
  evaluate = function(key, check, now)
    local start = math.floor(now / check.window) * check.window
    local window_end = start + check.window
    local stored = redis.call('HMGET', key, 's', 'c')
    local count = 0
    if tonumber(stored[1]) == start then count = tonumber(stored[2]) end
    local reset = 0
    if count > 0 then reset = window_end - now end
    if count + check.cost > check.limit then return denied(window_end - now, count, reset) end
    if check.cost == 0 then return fits(count, reset, count, reset) end
    return fits(count, reset, count + check.cost, window_end - now)
  end,

  record = function(key, check, now, evaluation)
    local start = math.floor(now / check.window) * check.window
    redis.call('HSET', key, 's', int(start), 'c', int(evaluation.count_after))
    pexpire_us(key, start + check.window - now, check.grace)
  end,

  -- Units of an earlier window no longer count: there is nothing of theirs to give back.
  refund = function(key, check, now)
    local start = math.floor(now / check.window) * check.window
    local stored = redis.call('HMGET', key, 's', 'c')
    if tonumber(stored[1]) ~= start then return end
    redis.call('HSET', key, 'c', int(math.max(0, tonumber(stored[2]) - check.cost)))
  end,
}
