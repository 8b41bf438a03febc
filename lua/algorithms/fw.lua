--[[ fixed-window (fw): windows aligned to multiples of the window since the Unix epoch.
KEYS  [1] hash { s = window start (µs), c = units recorded in that window }
State expires at the window's end + grace. Twin: src/core/algorithms/fixed-window.ts ]]

algorithms['fw'] = {
  keys = 1,

  evaluate = function(keys, check, now)
    local start = math.floor(now / check.window) * check.window
    local window_end = start + check.window
    local stored = redis.call('HMGET', keys[1], 's', 'c')
    local count = 0
    if tonumber(stored[1]) == start then count = tonumber(stored[2]) end
    local reset = 0
    if count > 0 then reset = window_end - now end
    if count + check.cost > check.limit then return denied(window_end - now, count, reset) end
    if check.cost == 0 then return fits(count, reset, count, reset) end
    return fits(count, reset, count + check.cost, window_end - now)
  end,

  record = function(keys, check, now, evaluation)
    local start = math.floor(now / check.window) * check.window
    redis.call('HSET', keys[1], 's', int(start), 'c', int(evaluation.count_after))
    pexpire_us(keys[1], start + check.window - now, check.grace)
  end,
}
