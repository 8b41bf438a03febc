--[[ token-bucket (tb): GCRA. A burst of `limit` units, refilled at limit / window.
KEYS  [1] string "<a>:<d>": a = time of the last admission (µs), d = how far the theoretical
      arrival time ran ahead of it (µs, a float written with 17 digits); an absolute TAT near
      1.7e15 µs would only be exact to 0.25 µs
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
  local value = redis.call('GET', key)
  if not value then return 0 end
  local colon = string.find(value, ':', 1, true)
  local at, debt = tonumber(string.sub(value, 1, colon - 1)), tonumber(string.sub(value, colon + 1))
  return math.max(0, debt - (now - at))
end

local function tb_store(key, now, debt, grace)
  redis.call('SET', key, string.format('%d:%.17g', now, debt), 'PX', expiry_ms(math.ceil(debt), grace))
end

algorithms['tb'] = {
  evaluate = function(key, limit, window, cost, now)
    if limit == 0 then return true, 0, 0, 0, 0, 0 end
    local debt = tb_debt(key, now)
    local count, reset = tb_tally(debt, limit, window)
    local next_debt = debt + (cost * window) / limit
    local late = next_debt - window - tb_slack(window)
    if late > 0 then return false, math.ceil(late), count, reset end
    local count_after, reset_after = tb_tally(next_debt, limit, window)
    return true, 0, count, reset, count_after, reset_after, next_debt
  end,

  record = function(key, limit, window, cost, now, grace, count_after, next_debt)
    tb_store(key, now, next_debt, grace)
  end,

  -- A unit given back is one refill interval of debt forgiven; debt never goes below none.
  refund = function(key, limit, window, cost, now, grace)
    if limit == 0 or redis.call('EXISTS', key) == 0 then return end
    tb_store(key, now, math.max(0, tb_debt(key, now) - (cost * window) / limit), grace)
  end,
}
