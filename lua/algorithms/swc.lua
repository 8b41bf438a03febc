--[[ sliding-window-counter (swc): the previous window's count, weighted by its overlap with the
sliding window, plus the current window's count (the estimate Cloudflare published). Approximate.
KEYS  [1] hash { s = current window start (µs), c = units in it, p = units in the window before }
State expires at the end of the next window + grace. Twin: src/core/algorithms/sliding-window-counter.ts ]]

local function swc_counts(key, check, now)
  local start = math.floor(now / check.window) * check.window
  local stored = redis.call('HMGET', key, 's', 'c', 'p')
  local stored_start = tonumber(stored[1])
  if stored_start == start then return tonumber(stored[3]), tonumber(stored[2]), start end
  if stored_start == start - check.window then return tonumber(stored[2]), 0, start end
  return 0, 0, start
end

-- Same floating-point operations, in the same order, as the TypeScript twin.
local function swc_weighted(previous, elapsed, window)
  return (previous * (window - elapsed)) / window
end

local function swc_tally(previous, current, elapsed, window, window_end, now)
  local estimate = swc_weighted(previous, elapsed, window) + current
  local reset = 0
  if current > 0 then
    reset = window_end - now + window
  elseif previous > 0 then
    reset = window_end - now
  end
  return math.ceil(estimate), reset
end

local function swc_retry(previous, current, room, elapsed, window)
  if room - current >= 0 and previous > 0 then
    local needed_elapsed = window - ((room - current) * window) / previous
    return math.max(1, math.ceil(needed_elapsed - elapsed))
  end
  local until_next = window - elapsed
  if current <= room then return until_next end
  return until_next + math.ceil(window - (room * window) / current)
end

algorithms['swc'] = {
  evaluate = function(key, check, now)
    local previous, current, start = swc_counts(key, check, now)
    local window, elapsed = check.window, now - start
    local window_end = start + window
    local count, reset = swc_tally(previous, current, elapsed, window, window_end, now)
    local estimate = swc_weighted(previous, elapsed, window) + current
    if estimate + check.cost <= check.limit then
      if check.cost == 0 then return fits(count, reset, count, reset) end
      local count_after, reset_after = swc_tally(previous, current + check.cost, elapsed, window, window_end, now)
      return fits(count, reset, count_after, reset_after)
    end
    return denied(swc_retry(previous, current, check.limit - check.cost, elapsed, window), count, reset)
  end,

  record = function(key, check, now)
    local previous, current, start = swc_counts(key, check, now)
    redis.call('HSET', key, 's', int(start), 'c', int(current + check.cost), 'p', int(previous))
    pexpire_us(key, start + 2 * check.window - now, check.grace)
  end,

  -- This window's units first; what is left comes off the previous window's, which still weigh.
  refund = function(key, check, now)
    if redis.call('EXISTS', key) == 0 then return end
    local previous, current, start = swc_counts(key, check, now)
    local from_current = math.min(current, check.cost)
    local from_previous = math.min(previous, check.cost - from_current)
    redis.call('HSET', key, 's', int(start), 'c', int(current - from_current),
      'p', int(previous - from_previous))
  end,
}
