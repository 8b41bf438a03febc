--[[ token-bucket (tb): GCRA. A burst of `limit` units, refilled at limit / window.
KEYS  [1] string: the theoretical arrival time (µs, a float written with 17 digits)
State expires when the bucket is full again, + grace. Twin: src/core/algorithms/token-bucket.ts ]]

local function tb_tally(tat, now, limit, window)
  local available = math.floor(((now + window - tat) * limit) / window)
  return limit - available, math.ceil(tat - now)
end

algorithms['tb'] = {
  keys = 1,

  evaluate = function(keys, check, now)
    local limit, window = check.limit, check.window
    if limit == 0 then return fits(0, 0, 0, 0) end
    local tat = math.max(tonumber(redis.call('GET', keys[1])) or now, now)
    local count, reset = tb_tally(tat, now, limit, window)
    local next_tat = tat + (check.cost * window) / limit
    local allow_at = next_tat - window
    if allow_at > now then return denied(math.ceil(allow_at - now), count, reset) end
    local count_after, reset_after = tb_tally(next_tat, now, limit, window)
    local evaluation = fits(count, reset, count_after, reset_after)
    evaluation.next_tat = next_tat
    return evaluation
  end,

  record = function(keys, check, now, evaluation)
    redis.call('SET', keys[1], float(evaluation.next_tat))
    pexpire_us(keys[1], evaluation.next_tat - now, check.grace)
  end,
}
