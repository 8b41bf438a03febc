--[[ sliding-window-log (swl): exact. Admit iff units in (now - window, now] + cost <= limit.
A weighted log: one member per admitted check, whatever its cost.
KEYS  [1] the log: sorted set, score = time recorded (µs, never decreasing), member =
      "<n><start>:<cost>" where start is how many units the log recorded before this member (so
      members are unique and the units of any stretch are a difference of two numbers) and <n>
      is one letter for its number of digits ('A' for 1, 'B' for 2, ...): members of one score are
      ordered by their text, and the letter makes that the order of their starts
State expires window + grace after the newest member. Twin: src/core/algorithms/sliding-window-log.ts ]]

-- A member's start and cost.
local function swl_entry(member)
  local colon = string.find(member, ':', 1, true)
  return tonumber(string.sub(member, 2, colon - 1)), tonumber(string.sub(member, colon + 1))
end

local function swl_member(start, cost)
  local digits = int(start)
  return string.char(64 + #digits) .. digits .. ':' .. int(cost)
end

-- Members are ordered by time and by start alike; find by rank the first whose units reach `unit`.
local function swl_rank_reaching(key, unit, low, high)
  while low < high do
    local middle = math.floor((low + high) / 2)
    local start, cost = swl_entry(redis.call('ZRANGE', key, middle, middle)[1])
    if start + cost >= unit then high = middle else low = middle + 1 end
  end
  return low
end

algorithms['swl'] = {
  evaluate = function(key, check, now)
    local window = check.window
    -- Members recorded at t <= now - window have left the window.
    redis.call('ZREMRANGEBYSCORE', key, '-inf', int(now - window))
    local newest = redis.call('ZRANGE', key, -1, -1, 'WITHSCORES')
    if newest[1] == nil then
      if check.cost == 0 then return fits(0, 0, 0, 0) end
      local evaluation = fits(0, 0, check.cost, window)
      evaluation.stamp, evaluation.start = now, 0
      return evaluation
    end
    local newest_start, newest_cost = swl_entry(newest[1])
    local newest_time = tonumber(newest[2])
    local oldest = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
    local oldest_start, oldest_cost = swl_entry(oldest[1])
    local finish = newest_start + newest_cost
    local count = finish - oldest_start
    local reset = newest_time + window - now
    if count + check.cost <= check.limit then
      if check.cost == 0 then return fits(count, reset, count, reset) end
      -- Recorded at the newest member's time if the clock stepped back, so the log stays sorted.
      local stamp = math.max(now, newest_time)
      local evaluation = fits(count, reset, count + check.cost, stamp + window - now)
      evaluation.stamp, evaluation.start = stamp, finish
      return evaluation
    end
    -- The cost fits once the (count + cost - limit)-th oldest unit has left the window.
    local unit = oldest_start + count + check.cost - check.limit
    local leaves = tonumber(oldest[2])
    if oldest_start + oldest_cost < unit then
      local rank = swl_rank_reaching(key, unit, 1, redis.call('ZCARD', key) - 1)
      leaves = tonumber(redis.call('ZRANGE', key, rank, rank, 'WITHSCORES')[2])
    end
    return denied(leaves + window - now, count, reset)
  end,

  record = function(key, check, now, evaluation)
    redis.call('ZADD', key, int(evaluation.stamp), swl_member(evaluation.start, check.cost))
    pexpire_us(key, evaluation.stamp + check.window - now, check.grace)
  end,

  -- Newest units first. Whole members go in one ZREMRANGEBYRANK; the last one is shortened.
  refund = function(key, check, now)
    redis.call('ZREMRANGEBYSCORE', key, '-inf', int(now - check.window))
    local newest = redis.call('ZRANGE', key, -1, -1)[1]
    if newest == nil or check.cost == 0 then return end
    local newest_start, newest_cost = swl_entry(newest)
    local finish = newest_start + newest_cost
    local members = redis.call('ZCARD', key)
    -- The first rank from which every member to the newest can go whole: finish - start <= cost.
    local low, high = 0, members
    while low < high do
      local middle = math.floor((low + high) / 2)
      local start = swl_entry(redis.call('ZRANGE', key, middle, middle)[1])
      if finish - start <= check.cost then high = middle else low = middle + 1 end
    end
    local owed = check.cost
    if low < members then
      owed = owed - (finish - swl_entry(redis.call('ZRANGE', key, low, low)[1]))
      redis.call('ZREMRANGEBYRANK', key, low, -1)
    end
    if owed > 0 and low > 0 then
      local entry = redis.call('ZRANGE', key, low - 1, low - 1, 'WITHSCORES')
      local start, cost = swl_entry(entry[1])
      redis.call('ZREM', key, entry[1])
      redis.call('ZADD', key, entry[2], swl_member(start, cost - owed))
    end
  end,
}
