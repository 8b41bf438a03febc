--[[ token-bucket (tb): GCRA. A burst of `limit` units, refilled at limit / window.
KEYS  [1] hash { a = time of the last admission (µs), d = how far the theoretical arrival time
      ran ahead of it (µs, a float written with 17 digits) }; an absolute TAT near 1.7e15 µs
      would only be exact to 0.25 µs
State expires when the bucket is full again, + grace. Twin: src/core/algorithms/token-bucket.ts ]]

-- Slack for floating-point sums of window / limit: a billionth of the window.
local function tb_slack(window)
  return window * 1e-9
end

-- A debt within the slack is none.
local function tb_tally(debt, limit, window)
  local owed = math.max(0, debt - tb_slack(window))
  local available = math.floor(((window - owed) * limit) / window + 1e-9)
  return math.max(0, limit - available), math.ceil(owed)
end

local function tb_debt(key, now)
  local stored = redis.call('HMGET', key, 'a', 'd')
  local at, debt = tonumber(stored[1]), tonumber(stored[2])
  if at == nil or debt == nil then return 0 end
  return math.max(0, debt - (now - at))
end

algorithms['tb'] = {
  evaluate = function(key, check, now)
    local limit, window = check.limit, check.window
    if limit == 0 then return fits(0, 0, 0, 0) end
    local debt = tb_debt(key, now)
    local count, reset = tb_tally(debt, limit, window)
    local next_debt = debt + (check.cost * window) / limit
    local late = next_debt - window - tb_slack(window)
    if late > 0 then return denied(math.ceil(late), count, reset) end
    local count_after, reset_after = tb_tally(next_debt, limit, window)
    local evaluation = fits(count, reset, count_after, reset_after)
    evaluation.next_debt = next_debt
    return evaluation
  end,

  record = function(key, check, now, evaluation)
    redis.call('HSET', key, 'a', int(now), 'd', float(evaluation.next_debt))
    pexpire_us(key, math.ceil(evaluation.next_debt), check.grace)
  end,

  -- A unit given back is one refill interval of debt forgiven; debt never goes below none.
  refund = function(key, check, now)
    if check.limit == 0 or redis.call('EXISTS', key) == 0 then return end
    local debt = math.max(0, tb_debt(key, now) - (check.cost * check.window) / check.limit)
    redis.call('HSET', key, 'a', int(now), 'd', float(debt))
  end,
}
